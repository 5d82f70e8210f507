package sshserver

import (
	"net"
	"path"
	"strings"

	"github.com/onramp-dev/onramp/internal/httpx"
)

// Policy decides which hosts a typed server URL may reach: the server
// fetches it, not the operator, so it must not become a way into the
// server's own network (metadata services, link-local, loopback).
type Policy struct {
	// Allow lists host patterns (path.Match, like *.example.com); when
	// non-empty a host must match one. Loopback is reachable only through a
	// pattern that names it.
	Allow []string
}

var metadata = []net.IP{net.ParseIP("169.254.169.254"), net.ParseIP("fd00:ec2::254"), net.ParseIP("100.100.100.200")}

// Check vets one resolved address of host.
func (p Policy) Check(host string, ip net.IP) error {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	allowed := len(p.Allow) == 0
	explicit := false
	for _, pat := range p.Allow {
		if ok, _ := path.Match(strings.ToLower(pat), host); ok {
			allowed, explicit = true, true
		}
		if ok, _ := path.Match(pat, ip.String()); ok {
			allowed, explicit = true, true
		}
	}
	block := func(reason string) error { return &httpx.BlockedError{Host: host, IP: ip, Reason: reason} }
	for _, m := range metadata {
		if ip.Equal(m) {
			return block("a cloud metadata address")
		}
	}
	switch {
	case !allowed:
		return block("not in this server's --allow-host list")
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return block("a link-local address")
	case ip.IsUnspecified() || ip.IsMulticast():
		return block("not a host address")
	case ip.IsLoopback() && !explicit:
		return block("this server's own loopback (allow it with --allow-host " + host + ")")
	}
	return nil
}

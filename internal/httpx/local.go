package httpx

import (
	"context"
	"net"
	"strings"
	"time"
)

// Resolver looks host names up (tests replace it).
var Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
} = net.DefaultResolver

// OnThisMachine reports whether host resolves to loopback addresses only,
// so plain http to it never crosses a network. It is decided on the
// addresses, not the name: "localhost" and *.localhost names can be made to
// resolve anywhere. A name that does not resolve within a second is not.
func OnThisMachine(host string) bool {
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	addrs, err := Resolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return false
		}
	}
	return true
}

// Sleep waits d, or until ctx ends (its error then): a retrying client's
// pause between attempts.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package sshserver

import (
	"net"
	"sync"
)

// preauth counts connections that have not authenticated yet, per client IP
// and in all. A client that opens connections and says nothing would
// otherwise hold a descriptor each until the handshake deadline, and enough
// of them keep real operators out; past the caps a new connection is closed
// at once, before any SSH byte is read.
type preauth struct {
	maxPerIP, maxTotal int

	mu    sync.Mutex
	perIP map[string]int
	total int
}

func newPreauth(maxPerIP, maxTotal int) *preauth {
	return &preauth{maxPerIP: maxPerIP, maxTotal: maxTotal, perIP: map[string]int{}}
}

// admit counts a new connection from addr; release (idempotent) uncounts
// it once it authenticates or closes. ok is false past a cap.
func (p *preauth) admit(addr net.Addr) (release func(), ok bool) {
	ip := addr.String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.perIP[ip] >= p.maxPerIP || p.total >= p.maxTotal {
		return nil, false
	}
	p.perIP[ip]++
	p.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.total--
			if p.perIP[ip]--; p.perIP[ip] == 0 {
				delete(p.perIP, ip)
			}
		})
	}, true
}

// releasingConn uncounts its connection when it closes (a failed or
// abandoned handshake).
type releasingConn struct {
	net.Conn
	release func()
}

func (c *releasingConn) Close() error {
	c.release()
	return c.Conn.Close()
}

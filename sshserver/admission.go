package sshserver

import (
	"net"
	"sync"
	"time"
)

// admission lets logins wait in line instead of failing. A connection that
// has not authenticated yet holds a handshake slot (maxHandshakes in all);
// past them, new connections wait before the SSH banner for a slot, up to
// maxWaiting of them; past those, the listener stops accepting and the
// kernel's listen backlog holds the rest. A login storm after a restart or
// a workshop's class is served in turn, none refused.
//
// Two bounds keep a silent or hostile client from filling the line: one
// address holds at most maxPerIP connections that are waiting or in their
// handshake (more are closed at once, before any byte is read), and every
// connection must authenticate within loginTimeout of being accepted,
// waiting included, or it is closed.
type admission struct {
	maxPerIP     int
	loginTimeout time.Duration
	slots        chan struct{} // handshake slots
	room         chan struct{} // handshakes + waiting: accepted and not yet authenticated

	mu    sync.Mutex
	perIP map[string]int
}

func newAdmission(maxPerIP, maxHandshakes, maxWaiting int, loginTimeout time.Duration) *admission {
	return &admission{maxPerIP: maxPerIP, loginTimeout: loginTimeout,
		slots: make(chan struct{}, maxHandshakes), room: make(chan struct{}, maxHandshakes+maxWaiting),
		perIP: map[string]int{}}
}

// listener stops accepting while the line is full: what arrives meanwhile
// waits in the listen backlog.
type admissionListener struct {
	net.Listener
	a      *admission
	closed chan struct{} // a full line does not keep Close waiting
	once   sync.Once
}

func (a *admission) listener(l net.Listener) net.Listener {
	return &admissionListener{Listener: l, a: a, closed: make(chan struct{})}
}

func (l *admissionListener) Accept() (net.Conn, error) {
	select {
	case l.a.room <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.a.room
		return nil, err
	}
	return &admittedConn{Conn: c, a: l.a, accepted: time.Now()}, nil
}

func (l *admissionListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// admittedConn is a connection from acceptance to authentication.
type admittedConn struct {
	net.Conn
	a        *admission
	accepted time.Time
	ip       string

	mu               sync.Mutex
	counted, hasSlot bool // counted against its address; holding a slot
	released         bool
	authenticated    bool
}

// wait counts the connection against its address and waits for a handshake
// slot; it says why the connection must be closed ("address_cap": its
// address is over the cap; "login_timeout": its login time ran out while
// it waited), or "". The connection's deadline is then the end of its login
// time, whatever the server sets.
func (c *admittedConn) wait() string {
	a := c.a
	c.ip = c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(c.ip); err == nil {
		c.ip = host
	}
	a.mu.Lock()
	over := a.perIP[c.ip] >= a.maxPerIP
	if !over {
		a.perIP[c.ip]++
	}
	a.mu.Unlock()
	c.mu.Lock()
	c.counted = !over
	c.mu.Unlock()
	if over {
		return "address_cap"
	}
	timer := time.NewTimer(time.Until(c.deadline()))
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		c.mu.Lock()
		c.hasSlot = true
		c.mu.Unlock()
		return ""
	case <-timer.C:
		return "login_timeout"
	}
}

func (c *admittedConn) deadline() time.Time { return c.accepted.Add(c.a.loginTimeout) }

// SetDeadline keeps the login time: before authentication no deadline may
// be later than accepted+loginTimeout (the SSH server sets its handshake
// timeout from when it starts, after the wait).
func (c *admittedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	authed := c.authenticated
	c.mu.Unlock()
	if d := c.deadline(); !authed && (t.IsZero() || t.After(d)) {
		t = d
	}
	return c.Conn.SetDeadline(t)
}

// authenticate gives the connection's slot and place in line to the next
// one: an operator who logged in no longer counts against any cap.
func (c *admittedConn) authenticate() {
	c.mu.Lock()
	c.authenticated = true
	c.mu.Unlock()
	c.release()
}

// release uncounts the connection (once).
func (c *admittedConn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	if c.hasSlot {
		<-c.a.slots
	}
	<-c.a.room
	if c.counted {
		c.a.mu.Lock()
		if c.a.perIP[c.ip]--; c.a.perIP[c.ip] <= 0 {
			delete(c.a.perIP, c.ip)
		}
		c.a.mu.Unlock()
	}
}

func (c *admittedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

package gitlabtest

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
)

// Server is a running sandbox.
type Server struct {
	*httptest.Server
	Sandbox *Sandbox
	// BaseURL is the instance address, with the sandbox's sub-path.
	BaseURL string
	// CAPEM is the CA certificate to trust for a TLS sandbox; nil otherwise.
	CAPEM []byte
}

func newLoopbackServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("gitlabtest: listen on loopback: " + err.Error())
	}
	srv.Listener.Close()
	srv.Listener = l
	// A client refusing the sandbox's CA is what TLS tests are about; keep
	// the server's handshake complaints out of their output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	return srv
}

func (s *Sandbox) wrap(srv *httptest.Server, ca []byte) *Server {
	return &Server{Server: srv, Sandbox: s, BaseURL: srv.URL + s.opts.Prefix, CAPEM: ca}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

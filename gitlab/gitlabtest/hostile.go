package gitlabtest

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// Payload is what a hostile server appends to the strings it sends: each
// piece starts with the marker EVIL and then something a terminal would act
// on — an OSC 52 clipboard write, an OSC 8 link, a C1 (8-bit) CSI, a
// right-to-left override, a screen clear, a bell, a newline that forges a
// log line. Output that is safe never holds EVIL followed directly by one of
// those bytes (see Unsafe).
const Payload = "EVIL\x1b]52;c;RVZJTA==\x07" + "EVIL\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\" +
	"EVIL\u009b2J" + "EVIL\u202eLIVE" + "EVIL\x1b[2J\x1b[H" + "EVIL\x07" + "EVIL\ntime=0 level=ERROR forged" + "EVIL\u2066x\u2069"

// Unsafe returns the first place plain output (a command's stdout or
// stderr, a log, JSON) holds a piece of Payload unescaped, or "" when it
// holds none.
func Unsafe(out string) string {
	return unsafeAfter(out, "\x1b", "\x07", "\n", "\r", "\u009b", "\u202e", "\u2066")
}

// UnsafeStyled is Unsafe for a terminal program's own output, which has
// escape sequences of its own (a style reset may end a line after EVIL):
// it looks for the payload's sequences themselves.
func UnsafeStyled(out string) string {
	return unsafeAfter(out, "\x1b]", "\x1b[2J", "\x07", "\u009b", "\u202e", "\u2066")
}

func unsafeAfter(out string, bad ...string) string {
	for i := 0; ; {
		j := strings.Index(out[i:], "EVIL")
		if j < 0 {
			return ""
		}
		at := i + j + len("EVIL")
		for _, b := range bad {
			if strings.HasPrefix(out[at:], b) {
				return strconv.Quote(out[max(at-40, 0):min(at+20, len(out))])
			}
		}
		i = at
	}
}

// Hostile wraps a handler (a sandbox) so that every string in its JSON
// answers, except those named by keep, ends with Payload: names, states,
// plans, versions, error messages and codes — whatever a client might show.
func Hostile(next http.Handler, keep func(key string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var v any
			if json.Unmarshal(body, &v) == nil {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetEscapeHTML(false)
				enc.Encode(poison(v, "", keep))
				body = b.Bytes()
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// Functional names the fields a hostile server leaves intact for a flow to
// go on at all (tokens it hands back, dates that are parsed, scopes that are
// checked); every other string carries the payload.
func Functional(key string) bool {
	switch key {
	case "access_token", "refresh_token", "token_type", "device_code", "scope", "scopes", "web_url", "avatar_url":
		return true
	}
	return strings.HasSuffix(key, "_at") || strings.HasSuffix(key, "_on")
}

// StartHostile serves the sandbox behind Hostile on 127.0.0.1.
func (s *Sandbox) StartHostile(keep func(key string) bool) *Server {
	srv := newLoopbackServer(Hostile(s, keep))
	srv.Start()
	return s.wrap(srv, nil)
}

func poison(v any, key string, keep func(string) bool) any {
	switch v := v.(type) {
	case string:
		if keep(key) {
			return v
		}
		return v + Payload
	case []any:
		for i := range v {
			v[i] = poison(v[i], key, keep)
		}
	case map[string]any:
		for k := range v {
			v[k] = poison(v[k], k, keep)
		}
	}
	return v
}

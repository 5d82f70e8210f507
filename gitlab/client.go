package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/onramp-dev/onramp/connector"
)

// Client calls one GitLab instance's REST API with one token. It is small on
// purpose: verification must see raw statuses, bodies and the X-Gitlab-Meta
// header to explain failures, which a general-purpose client hides.
type Client struct {
	HTTP  *http.Client
	Base  connector.Address
	Token string
	// Bearer sends the token as OAuth does; otherwise as Private-Token.
	Bearer bool
}

// authorize puts the client's token on req: an OAuth token as Bearer, a
// personal token as GitLab takes it (Private-Token, the one place that says so).
func (c *Client) authorize(req *http.Request) {
	if c.Bearer {
		req.Header.Set("Authorization", "Bearer "+c.Token)
		return
	}
	authorizePAT(req, c.Token)
}

// authorizePAT: GitLab takes a personal token as Private-Token.
func authorizePAT(req *http.Request, token string) { req.Header.Set("Private-Token", token) }

// Response is a decoded answer plus what verification needs to know of it.
type Response struct {
	Status     int
	Header     http.Header
	IsGitLab   bool // X-Gitlab-Meta present
	NotFound   bool
	BadRequest bool
}

const maxBody = 4 << 20

func decodeJSON(resp *http.Response, out any) error {
	return json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out)
}

// Get fetches path (relative to /api/v4) into out. A non-2xx answer is
// returned as *Error, except 404 and 400, which callers often expect and get
// as Response flags with a nil error.
func (c *Client) Get(ctx context.Context, path string, out any) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base.API+path, nil)
	if err != nil {
		return nil, &Error{Kind: KindOther, Host: c.Base.Host(), Err: err, Detail: "cannot build request"}
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, classifyTransport(c.Base.Host(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, classifyTransport(c.Base.Host(), err)
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, IsGitLab: resp.Header.Get("X-Gitlab-Meta") != ""}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		r.NotFound = true
		return r, nil
	case resp.StatusCode == http.StatusBadRequest:
		r.BadRequest = true
		return r, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		if !r.IsGitLab {
			return r, &Error{Kind: KindNotGitLab, Host: c.Base.Host(), Status: resp.StatusCode}
		}
		return r, classifyStatus(c.Base.Host(), resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			if !r.IsGitLab || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				return r, &Error{Kind: KindNotGitLab, Host: c.Base.Host(), Status: resp.StatusCode}
			}
			return r, &Error{Kind: KindServer, Host: c.Base.Host(), Status: resp.StatusCode,
				Detail: fmt.Sprintf("unreadable answer to %s", path)}
		}
	}
	return r, nil
}

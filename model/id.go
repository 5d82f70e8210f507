package model

import (
	"encoding/json"
	"strconv"
)

// ID is a vendor's id for an account or a person. Vendors use numbers
// (GitLab, GitHub), GUIDs or names, so it is a string; a numeric one is
// written to JSON as a number, as onramp's --json output has always shown
// GitLab's and GitHub's ids.
type ID string

// IDOf is a numeric id.
func IDOf(n int64) ID { return ID(strconv.FormatInt(n, 10)) }

// numeric reports whether id is an integer written the one way JSON and
// strconv agree on (no sign but "-", no leading zeros).
func (id ID) numeric() bool {
	n, err := strconv.ParseInt(string(id), 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == string(id)
}

// MarshalJSON writes a numeric id as a number, any other as a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.numeric() {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// UnmarshalJSON reads a number or a string.
func (id *ID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*id = ID(n.String())
	return nil
}

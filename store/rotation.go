package store

import (
	"encoding/json"

	"github.com/onramp-dev/onramp/model"
)

// encodeSettings and decodeSettings keep a connection's settings as one
// JSON column ("" for none).
func encodeSettings(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeSettings(s string) map[string]string {
	var m map[string]string
	if s != "" && json.Unmarshal([]byte(s), &m) != nil {
		return nil // unreadable: the form falls back to the stored address
	}
	return m
}

func encodeRotation(r *Rotation) string {
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func decodeRotation(s string) *Rotation {
	if s == "" {
		return nil
	}
	var r Rotation
	if json.Unmarshal([]byte(s), &r) != nil {
		// An unreadable record cannot say a rotation is not in flight:
		// treat it as one that is, so nobody sends the token.
		return &Rotation{InFlight: &model.RotationMark{Holder: "unreadable rotation record"}}
	}
	return &r
}

package store

import (
	"encoding/json"

	"github.com/onramp-dev/onramp/model"
)

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

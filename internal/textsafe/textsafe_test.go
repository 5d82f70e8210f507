package textsafe

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	cases := map[string]string{
		"plain text":                "plain text",
		"red \x1b[31mALERT\x1b[0m":  `red \x1b[31mALERT\x1b[0m`,
		"8-bit csi \u009b2J":        `8-bit csi \x9b2J`,
		"bell\a del\x7f":            `bell\x07 del\x7f`,
		"two\nlines\tand tab":       "two lines and tab",
		"rtl \u202egnp.exe":         `rtl \u202egnp.exe`,
		"isolate \u2066x\u2069":     `isolate \u2066x\u2069`,
		"bad \xff utf8":             "bad \uFFFD utf8",
		"ünïcödé ok ✓":              "ünïcödé ok ✓",
		"osc8 \x1b]8;;http://x\x07": `osc8 \x1b]8;;http://x\x07`,
	}
	for in, want := range cases {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("abcdef", 4); got != "abc…" {
		t.Fatal(got)
	}
	if got := Truncate("abc", 4); got != "abc" {
		t.Fatal(got)
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "\x1b[2J", "\u009b", "\u202e", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidi(r) {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
	})
}

func TestJSONEscapesWhatATerminalActsOn(t *testing.T) {
	in, _ := json.Marshal(map[string]string{"org": "acme\u009b31m\u202eevil\x7f\x1b]52;c;aGk=\x07", "plain": "naïve 日本"})
	out := JSON(in)
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["org"] != "acme\u009b31m\u202eevil\x7f\x1b]52;c;aGk=\x07" || back["plain"] != "naïve 日本" {
		t.Fatalf("meaning changed: %s %v %q", out, err, back)
	}
	for _, raw := range []string{"\u009b", "\u202e", "\x7f", "\x1b", "\x07"} {
		if strings.Contains(string(out), raw) {
			t.Fatalf("%q left raw in %s", raw, out)
		}
	}
	if plain := []byte(`{"a":"b"}`); &JSON(plain)[0] != &plain[0] {
		t.Fatal("plain JSON copied")
	}
}

// JSON keeps any document's meaning and leaves none of what a terminal acts
// on raw.
func FuzzJSON(f *testing.F) {
	f.Add("plain")
	f.Add("acme\u009b31m\u202eevil\x7f\x1b]52;c;aGk=\x07")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		in, _ := json.Marshal(map[string]string{s: s})
		out := JSON(in)
		var a, b map[string]string
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		json.Unmarshal(in, &a)
		for k, v := range a {
			if b[k] != v {
				t.Fatalf("meaning changed for %q", s)
			}
		}
		for _, r := range string(out) {
			if r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidi(r) {
				t.Fatalf("%U raw in %s", r, out)
			}
		}
	})
}

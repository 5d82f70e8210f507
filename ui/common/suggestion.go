package common

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// Suggestion makes an input's prefilled value (a default server address,
// a derived alias) behave like a selected suggestion: enter or tab accepts
// it, → or End keeps it for editing, and the first character typed or
// pasted replaces it instead of being appended to it
// ("https://gitlab.comhttp//127.0.0.1" was the old result).
type Suggestion struct {
	// Pending: the input still holds the suggestion untouched.
	Pending bool
}

// Intercept runs before the input sees msg.
func (s *Suggestion) Intercept(in *textinput.Model, msg tea.Msg) {
	if !s.Pending {
		return
	}
	switch msg := msg.(type) {
	case tea.PasteMsg:
		in.SetValue("")
		s.Pending = false
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keyDiscardSuggestion):
			in.SetValue("")
			s.Pending = false
		case key.Matches(msg, keyEditSuggestion):
			s.Pending = false
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				in.SetValue("")
				s.Pending = false
			}
		}
	}
}

// Keys on a pending suggestion: deleting discards it, moving the cursor
// starts editing it (typing replaces it).
var (
	keyDiscardSuggestion = key.NewBinding(key.WithKeys("backspace", "delete", "ctrl+u", "ctrl+w", "ctrl+h"))
	keyEditSuggestion    = key.NewBinding(key.WithKeys("right", "end", "ctrl+e", "left", "home", "ctrl+a", "ctrl+b", "ctrl+f"))
)

// Styles shows a pending suggestion in reverse video, as a selection.
func (s *Suggestion) Styles(base textinput.Styles) textinput.Styles {
	if s.Pending {
		base.Focused.Text = base.Focused.Text.Reverse(true)
	}
	return base
}

// Hint is what to say beside a pending suggestion.
func (s *Suggestion) Hint() string {
	if s.Pending {
		return "suggested: enter keeps it, typing replaces it, → edits it"
	}
	return ""
}

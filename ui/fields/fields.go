// Package fields is the credential form: the auth method's fields, with the
// steps to obtain each value beside the focused one.
package fields

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

// Model edits the visible fields of the flow's auth method.
type Model struct {
	common.Intent
	flow   *flows.Connect
	fields []flows.Field
	inputs []textinput.Model
	// suggested: which inputs still hold their field's default untouched.
	suggested []common.Suggestion
	focus     int
	// errs holds the message (and hint) under each field.
	errs  map[string]string
	hints map[string]string
	// question is a pending yes/no about the field questionKey.
	question    string
	questionKey string
	// aliasAsked: the store will make the alias step appear anyway.
	aliasAsked bool
	// intro shows the method's preparation steps (create the OAuth
	// application, copy the redirect URI) before the fields.
	intro bool
	// anchor: the focused field's first and last line in the last View.
	anchor [2]int
	width  int
	height int
	th     theme.Theme
}

// New builds the form from the flow, restoring every value typed before.
func New(flow *flows.Connect, th theme.Theme) *Model {
	m := &Model{flow: flow, errs: map[string]string{}, hints: map[string]string{}, th: th}
	// The method's preparation steps, unless a reconnect keeps a method
	// whose preparation was done when the connection was made.
	m.intro = len(flow.Method.Intro) > 0 && (flow.Reconnecting == nil || flow.Reconnecting.AuthMethod != flow.Method.ID)
	m.rebuild()
	return m
}

// SetAliasAsked says the alias step will come regardless of ctrl+n.
func (m *Model) SetAliasAsked(v bool) { m.aliasAsked = v }

// rebuild makes one input per visible field, keeping values and focus.
func (m *Model) rebuild() {
	focusKey := ""
	if m.focus < len(m.fields) {
		focusKey = m.fields[m.focus].Key
	}
	old := map[string]string{}
	for i, f := range m.fields {
		old[f.Key] = m.inputs[i].Value()
	}
	m.fields = m.flow.VisibleFields()
	m.inputs = make([]textinput.Model, len(m.fields))
	m.suggested = make([]common.Suggestion, len(m.fields))
	for i, f := range m.fields {
		in := textinput.New()
		in.Prompt = "  "
		in.Placeholder = f.Placeholder
		in.CharLimit = 4096
		if f.Secret {
			in.EchoMode = textinput.EchoPassword
			in.EchoCharacter = '•'
		}
		if len(f.Choices) > 0 {
			in.SetSuggestions(f.Choices)
			in.ShowSuggestions = true
		}
		v, typed := old[f.Key]
		if !typed {
			v = m.flow.Values[f.Key]
		}
		in.SetValue(v)
		m.inputs[i] = in
		m.suggested[i].Pending = f.Default != "" && v == f.Default
	}
	m.focus = 0
	for i, f := range m.fields {
		if f.Key == focusKey {
			m.focus = i
		}
	}
	m.SetTheme(m.th)
	m.SetSize(m.width, m.height)
	m.focusInput(m.focus)
}

func (m *Model) SetTheme(th theme.Theme) {
	m.th = th
	for i := range m.inputs {
		m.restyle(i)
	}
}

// restyle shows input i's suggestion as selected while it is untouched.
func (m *Model) restyle(i int) {
	m.inputs[i].SetStyles(m.suggested[i].Styles(textinput.DefaultStyles(m.th.IsDark)))
}

func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	for i := range m.inputs {
		m.inputs[i].SetWidth(max(w-6, 10))
	}
}

func (m *Model) focusInput(i int) tea.Cmd {
	for j := range m.inputs {
		m.inputs[j].Blur()
	}
	m.focus = i
	return m.inputs[i].Focus()
}

// FocusField moves the focus to the field with key.
func (m *Model) FocusField(key string) tea.Cmd {
	for i, f := range m.fields {
		if f.Key == key {
			return m.focusInput(i)
		}
	}
	return nil
}

// Focused is the key of the focused field.
func (m *Model) Focused() string { return m.fields[m.focus].Key }

// Value is what the field's input holds now.
func (m *Model) Value(key string) string {
	for i, f := range m.fields {
		if f.Key == key {
			return m.inputs[i].Value()
		}
	}
	return ""
}

// Error is the message under a field, if any.
func (m *Model) Error(key string) string { return m.errs[key] }

// Dirty reports whether anything differs from the defaults.
func (m *Model) Dirty() bool {
	for i, f := range m.fields {
		if strings.TrimSpace(m.inputs[i].Value()) != f.Default {
			return true
		}
	}
	return false
}

// ShowError returns the person to the field a failure names (revealing an
// on-demand field if needed), with the message and what to do.
func (m *Model) ShowError(err error) tea.Cmd {
	var se *flows.StepError
	if !errors.As(err, &se) {
		se = &flows.StepError{Message: err.Error()}
	}
	m.rebuild()
	for i, f := range m.fields {
		if f.Key == se.Field {
			m.errs[f.Key] = se.Message
			m.hints[f.Key] = se.Hint
			return m.focusInput(i)
		}
	}
	return nil
}

// copyKey copies the method's value to register (a redirect or callback
// address), on the preparation steps and on the fields alike (ctrl+y
// copies a field's link); its help names the value as the card does.
// keys are the page's keys: Update matches them and the help bar shows
// them; every other key types into the focused field.
var keys = struct {
	OnToFields, IntroCopy, IntroBack, Yes, No, Next, Down, Up, Previous, Back, CopyLink, CopyValue, Alias key.Binding
}{
	OnToFields: key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "on to the fields")),
	IntroCopy:  key.NewBinding(key.WithKeys("ctrl+y", "ctrl+r")),
	IntroBack:  key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back")),
	Yes:        key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
	No:         key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no, edit it")),
	Next:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
	Down:       key.NewBinding(key.WithKeys("tab", "down")),
	Up:         key.NewBinding(key.WithKeys("up")),
	Previous:   key.NewBinding(key.WithKeys("shift+tab")),
	Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	CopyLink:   key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy link")),
	CopyValue:  key.NewBinding(key.WithKeys("ctrl+r")),
	Alias:      key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "alias")),
}

// copyKey is the binding that copies the method's value, named as the
// card names it.
func (m *Model) copyKey() key.Binding {
	b := keys.CopyValue
	b.SetHelp("ctrl+r", "copy "+m.flow.Copy().Label)
	return b
}

func (m *Model) Keys() []key.Binding {
	if m.intro {
		ks := []key.Binding{keys.OnToFields}
		if m.flow.Copy() != nil {
			ks = append(ks, m.copyKey())
		}
		return append(ks, keys.IntroBack, common.KeyQuit)
	}
	if m.question != "" {
		return []key.Binding{keys.Yes, keys.No}
	}
	ks := []key.Binding{keys.Next}
	if m.link() != "" {
		ks = append(ks, keys.CopyLink)
	}
	if m.flow.Copy() != nil {
		ks = append(ks, m.copyKey())
	}
	if m.flow.Reconnecting == nil {
		ks = append(ks, keys.Alias)
	}
	return append(ks, keys.Back, common.KeyQuit)
}

// commit stores the focused input's value in the flow; false on error.
func (m *Model) commit(i int) bool {
	f := m.fields[i]
	delete(m.errs, f.Key)
	delete(m.hints, f.Key)
	if err := m.flow.SetValue(f.Key, m.inputs[i].Value()); err != nil {
		var se *flows.StepError
		if errors.As(err, &se) {
			m.errs[f.Key], m.hints[f.Key] = se.Message, se.Hint
		} else {
			m.errs[f.Key] = err.Error()
		}
		return false
	}
	// Show the value as it will be used (https:// added, /api/v4 dropped).
	if v := m.flow.Values[f.Key]; v != m.inputs[i].Value() {
		m.inputs[i].SetValue(v)
	}
	return true
}

// submit checks every field; the first problem takes the focus.
func (m *Model) submit() tea.Cmd {
	for i := range m.fields {
		if !m.commit(i) {
			return m.focusInput(i)
		}
	}
	if err := m.flow.CheckFields(); err != nil {
		var se *flows.StepError
		if errors.As(err, &se) {
			if q := m.flow.Question(se.Field); q != "" {
				m.question, m.questionKey = q, se.Field
				return nil
			}
		}
		return m.ShowError(err)
	}
	m.Set(common.FieldsDoneMsg{})
	return nil
}

func (m *Model) copyValue() tea.Cmd {
	c := m.flow.Copy()
	if c == nil {
		return nil
	}
	return tea.Batch(tea.SetClipboard(c.Value), common.Cmd(common.StatusMsg(c.Label+" copied to your clipboard.")))
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	k, isKey := msg.(tea.KeyPressMsg)
	if m.intro {
		if isKey {
			switch {
			case key.Matches(k, keys.OnToFields):
				m.intro = false
			case key.Matches(k, keys.IntroCopy):
				return m, m.copyValue()
			case key.Matches(k, keys.IntroBack):
				m.Set(common.BackMsg{})
			}
		}
		return m, nil
	}
	if m.question != "" {
		if !isKey {
			return m, nil
		}
		switch {
		case key.Matches(k, keys.Yes):
			m.flow.Confirm(m.questionKey)
			m.question = ""
			return m, m.submit()
		case key.Matches(k, keys.No):
			asked := m.questionKey
			m.question = ""
			for i, f := range m.fields {
				if f.Key == asked {
					return m, m.focusInput(i)
				}
			}
		}
		return m, nil
	}
	if isKey {
		switch {
		case key.Matches(k, keys.Next):
			if !m.commit(m.focus) {
				return m, nil
			}
			if m.focus < len(m.inputs)-1 {
				return m, m.focusInput(m.focus + 1)
			}
			return m, m.submit()
		case key.Matches(k, keys.Down):
			m.commit(m.focus)
			if m.focus < len(m.inputs)-1 {
				return m, m.focusInput(m.focus + 1)
			}
			return m, nil
		case key.Matches(k, keys.Up, keys.Previous):
			if m.focus > 0 {
				m.commit(m.focus)
				return m, m.focusInput(m.focus - 1)
			}
			if key.Matches(k, keys.Previous) { // shift+tab on the first field: back
				m.saveTyped()
				m.Set(common.BackMsg{})
			}
			return m, nil
		case key.Matches(k, keys.Back):
			m.saveTyped()
			m.Set(common.BackMsg{})
			return m, nil
		case key.Matches(k, keys.CopyLink):
			if link := m.link(); link != "" {
				return m, tea.Batch(tea.SetClipboard(link), common.Cmd(common.StatusMsg("Link copied to your clipboard.")))
			}
			return m, nil
		case key.Matches(k, keys.Alias):
			m.flow.ToggleAlias()
			return m, nil
		case key.Matches(k, keys.CopyValue):
			return m, m.copyValue()
		}
	}
	if m.suggested[m.focus].Pending {
		m.suggested[m.focus].Intercept(&m.inputs[m.focus], msg)
		m.restyle(m.focus)
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	return m, cmd
}

// saveTyped keeps raw input in the flow when leaving, so nothing is lost.
func (m *Model) saveTyped() {
	for i, f := range m.fields {
		m.flow.KeepTyped(f.Key, m.inputs[i].Value())
	}
}

// link is the focused field's helper address at the instance, once its
// address has been checked.
func (m *Model) link() string {
	f := m.fields[m.focus]
	at := m.flow.Address()
	if f.Link == nil || at.IsZero() {
		return ""
	}
	return f.Link(at)
}

// introView lists the steps to do in the vendor's UI before the fields.
func (m *Model) introView(width int) string {
	var b strings.Builder
	title := m.flow.Method.IntroTitle
	if title == "" {
		title = "create an OAuth application in " + m.flow.Vendor.Name
	}
	b.WriteString(m.th.Title.Render("Before the fields: "+title) + "\n\n")
	for i, step := range m.flow.Method.Intro {
		prefix := fmt.Sprintf("%d. ", i+1)
		lines := strings.Split(common.Wrap(prefix+step, width-len(prefix)), "\n")
		for j, l := range lines {
			if j > 0 {
				l = strings.Repeat(" ", len(prefix)) + l
			}
			b.WriteString(l + "\n")
		}
	}
	if c := m.flow.Copy(); c != nil && c.Note != "" {
		b.WriteString("\n" + m.th.Muted.Render(common.Wrap(c.Note, width)))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Pinned keeps the value to copy into the vendor's UI on screen however the page
// scrolls: on the preparation steps and beside every field.
func (m *Model) Pinned() string {
	c := m.flow.Copy()
	if c == nil {
		return ""
	}
	width := max(m.width, 20)
	shown := c.Value // or, for a long one (a certificate), what names it
	if c.Short != "" {
		shown = c.Short
	}
	label := m.th.Label.Render(c.Label+": ") + m.th.Muted.Render("(ctrl+r copies it)")
	if m.intro {
		label = m.th.Label.Render(c.Label+" to register") + m.th.Muted.Render(" (ctrl+r copies it):")
	}
	return label + "\n" + m.th.Focused.Render(common.Indent(common.HardWrap(shown, width-2), "  "))
}

// Anchor is the focused field from its label to its error and hint (and a
// pending question), or nothing on the preparation steps.
func (m *Model) Anchor() (int, int) {
	if m.intro {
		return -1, -1
	}
	return m.anchor[0], m.anchor[1]
}

func (m *Model) View() string {
	width := max(m.width, 20)
	if m.intro {
		return m.introView(width)
	}
	var form strings.Builder
	title := "Connect " + m.flow.Vendor.Name
	if r := m.flow.Reconnecting; r != nil {
		title = "Reconnect " + textsafe.Line(r.Alias)
	}
	form.WriteString(common.Truncate(m.th.Title.Render(title)+m.th.Muted.Render(" · "+m.flow.Method.Name), width))
	form.WriteString("\n")
	for i, f := range m.fields {
		if i > 0 {
			form.WriteString("\n")
		}
		label := f.Label
		if f.Optional {
			label += m.th.Muted.Render(" (optional)")
		}
		if i == m.focus {
			m.anchor[0] = common.Lines(&form) + 1
			if i == 0 {
				m.anchor[0] = 0 // the first field keeps the title with it
			}
			hint := ""
			if h := m.suggested[i].Hint(); h != "" {
				hint = m.th.Muted.Render("  " + h)
			}
			form.WriteString("\n" + common.Truncate(m.th.Focused.Render(theme.Pointer+" "+label)+hint, width) + "\n")
		} else {
			form.WriteString("\n" + m.th.Label.Render("  "+label) + "\n")
		}
		form.WriteString(m.inputs[i].View())
		if msg := m.errs[f.Key]; msg != "" {
			form.WriteString("\n" + common.Indent(m.th.Error.Render(common.Wrap(theme.Fail+" "+common.Sentence(msg), width-4)), "  "))
			if h := m.hints[f.Key]; h != "" {
				form.WriteString("\n" + common.Indent(m.th.Muted.Render(common.Wrap(h, width-6)), "    "))
			}
		}
		if i == m.focus {
			m.anchor[1] = common.Lines(&form)
		}
	}
	if m.question != "" {
		// [y/n] wraps with the question: appended after the styled block it
		// ran past the width and was cut ("Use it anyway? [y/…").
		form.WriteString("\n\n" + m.th.Warning.Render(common.Wrap(theme.Warn+" "+m.question+" [y/n]", width-2)))
		m.anchor[1] = common.Lines(&form)
	} else if m.flow.Reconnecting == nil { // a reconnect keeps its alias
		box := "[ ]"
		if m.flow.WantAlias || m.aliasAsked {
			box = "[x]"
		}
		note := "give this connection an alias (ctrl+n)"
		if m.aliasAsked {
			note = "you will be asked for a Connection Alias: the store already has a " + m.flow.Vendor.Name + " connection"
		}
		form.WriteString("\n\n" + m.th.Muted.Render(common.Truncate(box+" "+note, width)))
	}
	top := form.String()
	if panel := m.helpPanel(width); panel != "" {
		return top + "\n\n" + panel
	}
	return top
}

// helpPanel shows how to obtain the focused field's value: the link first
// (it does the most), then the steps. A short window scrolls it.
func (m *Model) helpPanel(width int) string {
	f := m.fields[m.focus]
	if len(f.Help) == 0 && f.Link == nil && len(f.Notes) == 0 {
		return ""
	}
	inner := width - 3
	var lines []string
	for _, n := range f.Notes {
		for _, l := range strings.Split(common.WrapHard(n, inner), "\n") {
			lines = append(lines, m.th.Badge.Render(l))
		}
	}
	if link := m.link(); link != "" {
		lines = append(lines, m.th.Label.Render("Open this page to create one")+m.th.Muted.Render(" (ctrl+y copies it):"))
		for _, l := range strings.Split(common.HardWrap(link, inner), "\n") {
			lines = append(lines, common.Hyperlink(link, m.th.Link.Render(l)))
		}
	}
	for i, step := range f.Help {
		prefix := fmt.Sprintf("%d. ", i+1)
		if len(f.Help) == 1 {
			prefix = ""
		}
		wrapped := strings.Split(common.Wrap(prefix+step, inner), "\n")
		for j, l := range wrapped {
			if j > 0 {
				l = strings.Repeat(" ", len(prefix)) + l
			}
			lines = append(lines, m.th.Muted.Render(l))
		}
	}
	rule := m.th.Panel.Render("│") + " "
	return rule + strings.Join(lines, "\n"+rule)
}

// Package authorize verifies the credential with a spinner and a cancel key,
// then shows the vendor guide's SUCCESS moment with what was verified.
package authorize

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

type state int

const (
	running state = iota
	failed        // retryable failure shown here
	succeeded
)

// doneMsg carries the result of one attempt; attempt ties it to the attempt
// that started it, so a cancelled attempt's late answer is ignored.
type doneMsg struct {
	attempt int
	work    *flows.Connect // the clone the attempt ran on
	err     error
}

// FailedMsg asks the root to return to the field a failure names.
type FailedMsg struct{ Err error }

// Model runs Authorize and Save.
type Model struct {
	common.Intent
	flow    *flows.Connect
	spin    spinner.Model
	state   state
	attempt int
	cancel  context.CancelFunc
	err     *flows.StepError
	conn    *store.Connection
	width   int
	th      theme.Theme
}

// New prepares the page; Start begins the first attempt.
func New(flow *flows.Connect, th theme.Theme) *Model {
	m := &Model{flow: flow, th: th, spin: spinner.New(spinner.WithSpinner(spinner.Dot))}
	m.SetTheme(th)
	return m
}

func (m *Model) SetTheme(th theme.Theme) {
	m.th = th
	m.spin.Style = th.Focused
}

func (m *Model) SetSize(w, h int) { m.width = w }

// Succeeded reports whether the connection is stored.
func (m *Model) Succeeded() bool { return m.state == succeeded }

// Start launches an attempt: verify, then save.
func (m *Model) Start() tea.Cmd {
	m.attempt++
	m.state, m.err = running, nil
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	work, attempt := m.flow.Snapshot(), m.attempt
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		defer cancel()
		if _, err := work.Authorize(ctx); err != nil {
			return doneMsg{attempt: attempt, work: work, err: err}
		}
		_, err := work.Save(ctx)
		return doneMsg{attempt: attempt, work: work, err: err}
	})
}

func (m *Model) Keys() []key.Binding {
	switch m.state {
	case running:
		return []key.Binding{common.KeyCancel, common.KeyQuit}
	case failed:
		return []key.Binding{common.KeyRetry, common.KeyBackToFields, common.KeyQuit}
	}
	return []key.Binding{common.KeyToIntegrations, common.KeyQuit}
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	switch msg := msg.(type) {
	case doneMsg:
		if msg.attempt != m.attempt || m.state != running {
			return m, nil
		}
		m.flow.TakeOutcome(msg.work)
		if msg.err != nil {
			var se *flows.StepError
			if errors.As(msg.err, &se) && (se.Retryable || se.Field == "") && !errors.Is(se, context.Canceled) {
				m.state, m.err = failed, se
				return m, nil
			}
			m.Set(FailedMsg{Err: msg.err})
			return m, nil
		}
		m.state, m.conn = succeeded, m.flow.Saved
		return m, nil
	case spinner.TickMsg:
		if m.state != running {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		switch {
		case m.state == running && key.Matches(msg, common.KeyCancel):
			m.cancel()
			m.attempt++ // the cancelled attempt's answer no longer counts
			m.Set(common.BackMsg{})
		case m.state == failed && key.Matches(msg, common.KeyRetry):
			return m, m.Start()
		case m.state == failed && key.Matches(msg, common.KeyBackToFields):
			m.Set(common.BackMsg{})
		case m.state == succeeded && key.Matches(msg, common.KeyToIntegrations):
			m.Set(common.OpenIntegrationsMsg{})
		}
	}
	return m, nil
}

func (m *Model) View() string {
	width := max(m.width, 20)
	host := m.flow.Values[flows.FieldURL]
	switch m.state {
	case running:
		return m.th.Title.Render("Authorize") + "\n\n" + m.spin.View() + " Verifying with " + host + " …\n\n" +
			m.th.Muted.Render(common.Wrap("Checking the server version, the token's scopes and expiry, and whose token it is.", width))
	case failed:
		var b strings.Builder
		b.WriteString(m.th.Title.Render("Authorize") + "\n\n")
		b.WriteString(m.th.Error.Render(common.Wrap(theme.Fail+" "+common.Sentence(m.err.Message), width)) + "\n")
		if m.err.Hint != "" {
			b.WriteString(common.Indent(m.th.Muted.Render(common.Wrap(m.err.Hint, width-2)), "  ") + "\n")
		}
		b.WriteString("\n" + m.th.Muted.Render("Everything you typed is kept. Press r to try again, or esc to change the fields."))
		return b.String()
	}
	return SuccessView(m.th, m.flow, m.conn, width)
}

// SuccessView is the vendor guide's SUCCESS moment: what was verified and
// stored, with warnings and what to do about them.
func SuccessView(th theme.Theme, flow *flows.Connect, conn *store.Connection, width int) string {
	m := struct{ th theme.Theme }{th}
	v := flow.Result
	var b strings.Builder
	b.WriteString(m.th.Big.Render(theme.OK+" SUCCESS!") + "  " + m.th.Title.Render(flow.Vendor.Name+" is connected as "+conn.Alias) + "\n\n")
	labelWidth := 0
	for _, it := range v.Summary() {
		labelWidth = max(labelWidth, len(it.Label))
	}
	for _, it := range v.Summary() {
		line := m.th.Label.Render(it.Label+strings.Repeat(" ", labelWidth-len(it.Label))) + "  " + it.Value
		b.WriteString(common.Truncate(line, width) + "\n")
	}
	if len(v.Warnings) > 0 {
		b.WriteString("\n")
		for _, w := range v.Warnings {
			b.WriteString(m.th.Warning.Render(common.Wrap(theme.Warn+" "+w.Message, width)) + "\n")
			b.WriteString(common.Indent(m.th.Muted.Render(common.Wrap(w.Action, width-2)), "  ") + "\n")
		}
	}
	b.WriteString("\n" + m.th.Muted.Render(common.Wrap("The credentials are stored encrypted. Press enter to see the connection on the Integrations page.", width)))
	return b.String()
}

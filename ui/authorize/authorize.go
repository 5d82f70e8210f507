// Package authorize verifies the credential with a spinner and a cancel key,
// waits for a step someone else takes (an administrator's consent) by
// trying again by itself, then shows the vendor guide's SUCCESS moment with
// what was verified.
package authorize

import (
	"context"
	"errors"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

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

// pollMsg tries a pending attempt again.
type pollMsg struct{ attempt int }

// pendingPoll is how often a step someone else takes is looked for.
const pendingPoll = 5 * time.Second

// Model runs Authorize and Save.
type Model struct {
	common.Intent
	flow    *flows.Connect
	spin    spinner.Model
	state   state
	attempt int
	cancel  context.CancelFunc
	err     *flows.StepError
	// pending is the address where someone else acts (consent) while the
	// page tries again by itself.
	pending string
	qr      string // pending as a QR code, made once
	conn    *store.Connection
	width   int
	height  int
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

func (m *Model) SetSize(w, h int) { m.width, m.height = w, h }

// Succeeded reports whether the connection is stored.
func (m *Model) Succeeded() bool { return m.state == succeeded }

// Start launches an attempt: verify, then save.
func (m *Model) Start() tea.Cmd {
	m.attempt++
	m.state, m.err, m.pending = running, nil, ""
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
		if m.pending != "" {
			return []key.Binding{keyCopyAddress, common.KeyRetry, common.KeyBackToFields, common.KeyQuit}
		}
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
				var p flows.Pending
				if errors.As(msg.err, &p) && p.PendingAt() != "" {
					m.pending = p.PendingAt()
					m.qr = common.QR(m.pending)
					attempt := m.attempt
					return m, tea.Tick(pendingPoll, func(time.Time) tea.Msg { return pollMsg{attempt} })
				}
				return m, nil
			}
			m.Set(FailedMsg{Err: msg.err})
			return m, nil
		}
		m.state, m.conn = succeeded, m.flow.Saved
		return m, nil
	case pollMsg:
		if msg.attempt == m.attempt && m.state == failed && m.pending != "" {
			return m, m.Start()
		}
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
		case m.state == failed && m.pending != "" && key.Matches(msg, keyCopyAddress):
			return m, tea.Batch(tea.SetClipboard(m.pending), common.Cmd(common.StatusMsg("Address copied to your clipboard.")))
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
	host := m.flow.Address().Host()
	switch m.state {
	case running:
		return m.th.Title.Render("Authorize") + "\n\n" + m.spin.View() + " Verifying with " + host + " …\n\n" +
			m.th.Muted.Render(common.Wrap("Checking whose credential it is, what it may read, and when it expires.", width))
	case failed:
		if m.pending != "" {
			return m.pendingView(width)
		}
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

// keyCopyAddress copies the address where someone else acts.
var keyCopyAddress = key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy address"))

// pendingView says what is missing and where it is given (with a QR code
// for a phone, when it fits), while the page looks again by itself.
func (m *Model) pendingView(width int) string {
	var b strings.Builder
	b.WriteString(m.th.Title.Render("Waiting") + "\n\n")
	b.WriteString(m.th.Error.Render(common.Wrap(theme.Fail+" "+common.Sentence(m.err.Message), width)) + "\n")
	if m.err.Hint != "" {
		b.WriteString(common.Indent(m.th.Muted.Render(common.Wrap(m.err.Hint, width-2)), "  ") + "\n")
	}
	b.WriteString("\n" + m.th.Label.Render("Address") + m.th.Muted.Render(" (ctrl+y copies it):") + "\n")
	b.WriteString(m.th.Focused.Render(common.Indent(common.HardWrap(m.pending, width-2), "  ")) + "\n")
	// A QR code for a phone, when it fits beside what the page says.
	if code := m.qr; code != "" && lipgloss.Width(code) <= width &&
		strings.Count(b.String(), "\n")+strings.Count(code, "\n")+4 <= m.height {
		b.WriteString("\n" + code + "\n")
	}
	b.WriteString("\n" + m.th.Muted.Render("onramp looks again every "+pendingPoll.String()+" by itself; r looks now, esc goes back to the fields."))
	return b.String()
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

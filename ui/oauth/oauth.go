// Package oauth is the OAuth2 authorize screen: it picks the way that works
// where the person is (browser here, device code over SSH, paste-back
// always), says which, and lets them switch.
package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/ui/authorize"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/theme"
)

type state int

const (
	starting state = iota
	waiting
	finishing
	failed
	succeeded
)

type (
	startedMsg struct {
		attempt int
		att     *flows.OAuthAttempt
		err     error
	}
	tokenMsg struct {
		attempt int
		tok     *oauth2.Token
		err     error
	}
	doneMsg struct {
		attempt int
		work    *flows.Connect
		err     error
	}
	// browserMsg: opening the browser ended; note says none opened.
	browserMsg struct {
		attempt int
		note    string
	}
)

// Model runs one authorization at a time; switching mode starts another.
type Model struct {
	common.Intent
	flow   *flows.Connect
	remote bool
	modes  []flows.OAuthMode
	mode   flows.OAuthMode
	// blocked says why some ways are not offered (no client secret).
	blocked string
	// leaving: tab was pressed once while a device code runs; a second
	// tab abandons the code, any other key keeps it.
	leaving  bool
	state    state
	attempt  int
	att      *flows.OAuthAttempt
	cancel   context.CancelFunc
	err      *flows.StepError
	pasteIn  textinput.Model
	pasteErr string
	showQR   bool
	spin     spinner.Model
	width    int
	height   int
	// anchor: the lines Anchor keeps on screen, found by the last View.
	anchor [2]int
	th     theme.Theme
}

// New prepares the screen; Start begins with the mode that fits.
func New(flow *flows.Connect, remote bool, th theme.Theme) *Model {
	in := textinput.New()
	in.Prompt = "  "
	in.Placeholder = "e.g. http://127.0.0.1:…/onramp/callback?code=…&state=…"
	in.CharLimit = 8192
	// The pasted address carries the authorization code: like every
	// secret, it is never drawn.
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '•'
	m := &Model{flow: flow, remote: remote, pasteIn: in, th: th, spin: spinner.New(spinner.WithSpinner(spinner.Dot))}
	for _, md := range flows.OAuthModes {
		if md == flows.ModeBrowser && remote {
			continue // never open a browser on the wrong machine
		}
		if why := flow.ModeBlocked(md); why != "" {
			m.blocked = why // a way that would only fail is not offered
			continue
		}
		m.modes = append(m.modes, md)
	}
	m.mode = flows.DefaultOAuthMode(remote)
	if !slices.Contains(m.modes, m.mode) && len(m.modes) > 0 {
		m.mode = m.modes[0]
	}
	m.SetTheme(th)
	return m
}

func (m *Model) SetTheme(th theme.Theme) {
	m.th = th
	m.spin.Style = th.Focused
	m.pasteIn.SetStyles(textinput.DefaultStyles(th.IsDark))
}

func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.pasteIn.SetWidth(max(w-6, 10))
}

// Succeeded reports whether the connection is stored.
func (m *Model) Succeeded() bool { return m.state == succeeded }

// Mode is the way in use.
func (m *Model) Mode() flows.OAuthMode { return m.mode }

// Attempt is the authorization in progress (tests read its addresses).
func (m *Model) Attempt() *flows.OAuthAttempt { return m.att }

// Start begins an attempt in the current mode.
func (m *Model) Start() tea.Cmd {
	m.stop()
	m.attempt++
	m.state, m.err, m.att, m.pasteErr, m.showQR = starting, nil, nil, "", false
	m.pasteIn.SetValue("")
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	work, mode, attempt := m.flow.Snapshot(), m.mode, m.attempt
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		att, err := work.StartOAuth(ctx, mode)
		return startedMsg{attempt, att, err}
	})
}

// stop abandons the current attempt (its listener closes).
func (m *Model) stop() {
	if m.cancel != nil {
		m.cancel()
	}
	if m.att != nil {
		m.att.Close()
	}
}

func (m *Model) wait() tea.Cmd {
	att, attempt := m.att, m.attempt
	ctx, cancel := context.WithCancel(context.Background())
	prev := m.cancel
	m.cancel = func() { cancel(); prev() }
	return func() tea.Msg {
		tok, err := att.Wait(ctx)
		return tokenMsg{attempt, tok, err}
	}
}

func (m *Model) Keys() []key.Binding {
	switch m.state {
	case waiting:
		ks := []key.Binding{keys.UsePasted}
		if m.mode == flows.ModeDevice {
			ks = []key.Binding{keys.QR}
		}
		ks = append(ks, common.KeyCopy)
		if len(m.modes) > 1 {
			ks = append(ks, keys.AnotherWay)
		}
		return append(ks, keys.Cancel)
	case failed:
		ks := []key.Binding{common.KeyRetry}
		if len(m.modes) > 1 {
			ks = append(ks, keys.AnotherWay)
		}
		return append(ks, common.KeyBackToFields, common.KeyQuit)
	case succeeded:
		return []key.Binding{common.KeyToIntegrations, common.KeyQuit}
	}
	return []key.Binding{keys.Cancel, common.KeyQuit}
}

func (m *Model) nextMode() {
	for i, md := range m.modes {
		if md == m.mode {
			m.mode = m.modes[(i+1)%len(m.modes)]
			return
		}
	}
}

// fail shows a failure here, or sends the person back to the field to fix.
func (m *Model) fail(err error) (common.Page, tea.Cmd) {
	var se *flows.StepError
	if !errors.As(err, &se) {
		var ex flows.Explained
		if errors.As(err, &ex) {
			se = &flows.StepError{Field: ex.Field(), Message: ex.Error(), Hint: ex.Hint(), Retryable: ex.Retryable(), Err: err}
		} else {
			se = &flows.StepError{Message: err.Error(), Err: err}
		}
	}
	if errors.Is(se, context.Canceled) {
		return m, nil
	}
	if se.Field != "" && !se.Retryable {
		m.Set(authorize.FailedMsg{Err: se})
		return m, nil
	}
	m.state, m.err = failed, se
	return m, nil
}

func (m *Model) Update(msg tea.Msg) (common.Page, tea.Cmd) {
	switch msg := msg.(type) {
	case startedMsg:
		if msg.attempt != m.attempt {
			if msg.att != nil {
				msg.att.Close()
			}
			return m, nil
		}
		if msg.err != nil {
			return m.fail(msg.err)
		}
		m.att, m.mode, m.state = msg.att, msg.att.Mode, waiting
		var focus, open tea.Cmd
		if m.mode != flows.ModeDevice {
			focus = m.pasteIn.Focus()
		}
		if m.mode == flows.ModeBrowser {
			// The address is on screen while the browser opens (it can take
			// a while, or never happen).
			att, attempt := m.att, m.attempt
			open = func() tea.Msg { return browserMsg{attempt, att.OpenBrowser()} }
		}
		return m, tea.Batch(focus, m.wait(), open)
	case browserMsg:
		if msg.attempt == m.attempt && msg.note != "" && m.att != nil {
			// No browser opens here: paste-back, and the browser leaves the
			// tab cycle, so tab reaches the device code instead of failing
			// again.
			m.att.Mode, m.att.Note, m.mode = flows.ModePaste, msg.note, flows.ModePaste
			m.modes = slices.DeleteFunc(m.modes, func(md flows.OAuthMode) bool { return md == flows.ModeBrowser })
		}
		return m, nil
	case tokenMsg:
		if msg.attempt != m.attempt {
			return m, nil
		}
		if msg.err != nil {
			return m.fail(msg.err)
		}
		m.state = finishing
		work, attempt, tok := m.flow.Snapshot(), m.attempt, msg.tok
		return m, tea.Batch(m.spin.Tick, func() tea.Msg {
			if _, err := work.FinishOAuth(context.Background(), tok); err != nil {
				return doneMsg{attempt, work, err}
			}
			_, err := work.Save(context.Background())
			return doneMsg{attempt, work, err}
		})
	case doneMsg:
		if msg.attempt != m.attempt {
			return m, nil
		}
		m.flow.TakeOutcome(msg.work)
		if msg.err != nil {
			return m.fail(msg.err)
		}
		m.state = succeeded
		return m, nil
	case spinner.TickMsg:
		if m.state != starting && m.state != finishing && m.state != waiting {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		if m.state == waiting && m.mode != flows.ModeDevice {
			var cmd tea.Cmd
			m.pasteIn, cmd = m.pasteIn.Update(msg)
			return m, cmd
		}
	}
	return m, nil
}

// keys are the page's own keys (with common's retry, back and copy):
// key() matches them and the help bar shows them.
var keys = struct {
	Cancel, AnotherWay, UsePasted, QR key.Binding
}{
	Cancel:     key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "cancel")),
	AnotherWay: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "another way")),
	UsePasted:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "use pasted address")),
	QR:         key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "QR code")),
}

func (m *Model) key(k tea.KeyPressMsg) (common.Page, tea.Cmd) {
	switch m.state {
	case succeeded:
		if key.Matches(k, common.KeyToIntegrations) {
			m.Set(common.OpenIntegrationsMsg{})
		}
		return m, nil
	case failed:
		switch {
		case key.Matches(k, common.KeyRetry):
			return m, m.Start()
		case key.Matches(k, keys.AnotherWay):
			if len(m.modes) > 1 {
				m.nextMode()
				return m, m.Start()
			}
		case key.Matches(k, common.KeyBackToFields):
			m.Set(common.BackMsg{})
		}
		return m, nil
	}
	switch {
	case key.Matches(k, keys.Cancel):
		m.stop()
		m.attempt++
		m.Set(common.BackMsg{})
		return m, nil
	case key.Matches(k, keys.AnotherWay):
		if m.state != waiting || len(m.modes) < 2 {
			return m, nil
		}
		if m.mode == flows.ModeDevice && !m.leaving {
			// The person may be approving this code on their phone: one
			// stray tab must not kill it.
			m.leaving = true
			return m, nil
		}
		m.leaving = false
		m.nextMode()
		return m, m.Start()
	case key.Matches(k, common.KeyCopy):
		if u := m.address(); u != "" {
			return m, tea.Batch(tea.SetClipboard(u), common.Cmd(common.StatusMsg("Address copied to your clipboard.")))
		}
		return m, nil
	}
	m.leaving = false
	if m.state != waiting {
		return m, nil
	}
	if m.mode == flows.ModeDevice {
		if key.Matches(k, keys.QR) {
			m.showQR = !m.showQR
		}
		return m, nil
	}
	if key.Matches(k, keys.UsePasted) {
		if err := m.att.Paste(m.pasteIn.Value()); err != nil {
			m.pasteErr = err.Error()
		} else {
			m.pasteErr = ""
		}
		return m, nil
	}
	var cmd tea.Cmd
	m.pasteIn, cmd = m.pasteIn.Update(k)
	return m, cmd
}

// address is what ctrl+y copies: the verification or authorization address.
func (m *Model) address() string {
	if m.att == nil {
		return ""
	}
	if m.att.Device != nil {
		if m.att.Device.VerificationURIComplete != "" {
			return m.att.Device.VerificationURIComplete
		}
		return m.att.Device.VerificationURI
	}
	return m.att.AuthURL
}

var modeNames = map[flows.OAuthMode]string{
	flows.ModeBrowser: "browser on this machine",
	flows.ModeDevice:  "code on another device",
	flows.ModePaste:   "paste the address back",
}

// Anchor keeps on screen what the person must see to go on: the chosen way
// down to the error, the device code, or the paste-back input with its
// error (the last of them when the window cannot hold it all).
func (m *Model) Anchor() (int, int) {
	if m.state == succeeded || m.state == starting || m.state == finishing {
		return -1, -1
	}
	return m.anchor[0], m.anchor[1]
}

func (m *Model) View() string {
	width := max(m.width, 20)
	m.anchor = [2]int{-1, -1}
	if m.state == succeeded {
		return authorize.SuccessView(m.th, m.flow, m.flow.Saved, width)
	}
	var b strings.Builder
	b.WriteString(m.th.Title.Render("Authorize with " + m.flow.Method.Name))
	var ways []string
	for _, md := range m.modes {
		if md == m.mode {
			ways = append(ways, m.th.Focused.Render("["+modeNames[md]+"]"))
		} else {
			ways = append(ways, m.th.Muted.Render(modeNames[md]))
		}
	}
	b.WriteString("\n" + common.Truncate(strings.Join(ways, m.th.Muted.Render(" · ")), width) + "\n")
	if m.blocked != "" {
		b.WriteString(m.th.Muted.Render(common.Wrap(m.blocked, width)) + "\n")
	}
	if m.leaving {
		next := m.modes[(slices.Index(m.modes, m.mode)+1)%len(m.modes)]
		b.WriteString(m.th.Warning.Render(common.Wrap(theme.Warn+" tab again abandons this code (an approval in progress would fail) for “"+modeNames[next]+"”; any other key keeps it.", width)) + "\n")
	}
	b.WriteString("\n")
	switch m.state {
	case starting:
		b.WriteString(m.spin.View() + " Contacting " + textsafe.Line(m.flow.Values[flows.FieldURL]) + " …")
	case finishing:
		b.WriteString(m.spin.View() + " Authorized. Verifying the account and saving …")
	case failed:
		b.WriteString(m.th.Error.Render(common.Wrap(theme.Fail+" "+common.Sentence(m.err.Message), width)) + "\n")
		if m.err.Hint != "" {
			b.WriteString(common.Indent(m.th.Muted.Render(common.Wrap(m.err.Hint, width-2)), "  ") + "\n")
		}
		m.anchor = [2]int{0, common.Lines(&b)}
		next := "tab tries another way, "
		if len(m.modes) < 2 {
			next = ""
		}
		b.WriteString("\n" + m.th.Muted.Render(common.Wrap("Everything you typed is kept. r tries again, "+next+"esc goes back to the fields.", width)))
	case waiting:
		if m.att.Note != "" {
			b.WriteString(m.th.Warning.Render(common.Wrap(theme.Warn+" "+m.att.Note, width)) + "\n\n")
		}
		base := common.Lines(&b)
		if m.att.Device != nil {
			b.WriteString(m.deviceView(width))
		} else {
			b.WriteString(m.pasteView(width))
		}
		m.anchor = [2]int{0, m.anchor[1] + base} // from the chosen way down
	}
	return b.String()
}

func (m *Model) link(u string, width int) string {
	var lines []string
	for _, l := range strings.Split(common.HardWrap(u, width), "\n") {
		lines = append(lines, common.Hyperlink(u, m.th.Link.Render(l)))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) deviceView(width int) string {
	d := m.att.Device
	if m.showQR {
		if code := common.QR(m.address()); code != "" && strings.Count(code, "\n")+3 <= m.height {
			m.anchor[1] = strings.Count(code, "\n") + 1
			return code + "\n" + m.th.Muted.Render("Scan with a phone · q hides the code")
		}
		out := m.th.Muted.Render("The window is too small for the QR code; enlarge it, or open the address below.") + "\n" + m.link(m.address(), width)
		m.anchor[1] = strings.Count(out, "\n")
		return out
	}
	var b strings.Builder
	b.WriteString("On your phone or laptop, open\n")
	b.WriteString("  " + m.link(d.VerificationURI, width-2) + "\n")
	b.WriteString("and enter the code\n\n")
	b.WriteString("    " + m.th.Big.Render(spaced(formatCode(d.UserCode))) + "\n\n")
	m.anchor[1] = common.Lines(&b) - 2 // the code
	b.WriteString(m.spin.View() + " Waiting for you to approve it in " + m.flow.Vendor.Name + " …\n\n")
	copies := "ctrl+y copies the address (with the code in it) to your clipboard; q shows a QR code for your phone."
	if d.VerificationURIComplete == "" { // no complete address: the code is typed there
		copies = "ctrl+y copies the address to your clipboard; q shows a QR code for your phone."
	}
	b.WriteString(m.th.Muted.Render(common.Wrap(copies, width)))
	return b.String()
}

func (m *Model) pasteView(width int) string {
	var b strings.Builder
	if m.mode == flows.ModeBrowser {
		b.WriteString(m.spin.View() + " " + common.Wrap("Opening your browser on "+m.flow.Vendor.Name+": select Authorize there; this screen moves on by itself.", width-2) + "\n")
		b.WriteString(m.th.Muted.Render("If no browser opens, open this address:") + "\n")
	} else {
		b.WriteString(common.Wrap("Open this address in a browser on any machine, and select Authorize:", width) + "\n")
	}
	b.WriteString(m.link(m.att.AuthURL, width) + "\n\n")
	b.WriteString(common.Wrap("Your browser then ends on http://127.0.0.1:…/onramp/callback?code=…, which fails to load on another machine. That is expected: copy that whole address from the address bar and paste it here:", width) + "\n")
	b.WriteString(m.pasteIn.View())
	if m.pasteErr != "" {
		b.WriteString("\n" + common.Indent(m.th.Error.Render(common.Wrap(theme.Fail+" "+common.Sentence(m.pasteErr), width-4)), "  "))
	}
	m.anchor[1] = common.Lines(&b)
	if m.att.Tunnel != "" {
		b.WriteString("\n\n" + m.th.Muted.Render(common.Wrap("Prefer a tunnel? Run "+m.att.Tunnel+" on your machine first; the browser then completes this by itself.", width)))
	}
	return b.String()
}

func formatCode(c string) string {
	if len(c) == 8 {
		return c[:4] + "-" + c[4:]
	}
	return c
}

// spaced makes a code easier to read aloud and type: A B C D - E F G H.
func spaced(s string) string {
	return strings.Join(strings.Split(s, ""), " ")
}

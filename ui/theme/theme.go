// Package theme holds the wizard's styles. Colours degrade by themselves:
// Bubble Tea downsamples to the terminal's profile (256 colours, 16, or none
// with NO_COLOR), so nothing here may rely on colour alone to carry meaning —
// every state also has a symbol.
package theme

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Symbols carry meaning without colour.
const (
	OK      = "✓"
	Fail    = "✗"
	Warn    = "!"
	Pointer = "›"
	Bullet  = "•"
)

// Theme is the set of styles for one background (dark or light).
type Theme struct {
	IsDark bool

	Accent, Subtle, Faint, Good, Bad, Caution color.Color

	Header    lipgloss.Style
	Crumb     lipgloss.Style
	CrumbHere lipgloss.Style
	Title     lipgloss.Style
	Text      lipgloss.Style
	Muted     lipgloss.Style
	Label     lipgloss.Style
	Focused   lipgloss.Style
	Error     lipgloss.Style
	Warning   lipgloss.Style
	Success   lipgloss.Style
	Card      lipgloss.Style
	CardOn    lipgloss.Style
	Panel     lipgloss.Style // the rule left of a side panel
	Link      lipgloss.Style
	Key       lipgloss.Style
	Badge     lipgloss.Style
	Big       lipgloss.Style
}

// New builds the theme for a dark or light background.
func New(isDark bool) Theme {
	ld := lipgloss.LightDark(isDark)
	t := Theme{
		IsDark:  isDark,
		Accent:  ld(lipgloss.Color("#6B50FF"), lipgloss.Color("#9B8CFF")),
		Subtle:  ld(lipgloss.Color("#5C5C5C"), lipgloss.Color("#A8A8A8")),
		Faint:   ld(lipgloss.Color("#BDBDBD"), lipgloss.Color("#4A4A4A")),
		Good:    ld(lipgloss.Color("#1E8A3C"), lipgloss.Color("#5FD787")),
		Bad:     ld(lipgloss.Color("#C62828"), lipgloss.Color("#FF6B6B")),
		Caution: ld(lipgloss.Color("#A05A00"), lipgloss.Color("#FFB454")),
	}
	t.Header = lipgloss.NewStyle().Bold(true).Foreground(t.Accent)
	t.Crumb = lipgloss.NewStyle().Foreground(t.Subtle)
	t.CrumbHere = lipgloss.NewStyle().Bold(true)
	t.Title = lipgloss.NewStyle().Bold(true)
	t.Text = lipgloss.NewStyle()
	t.Muted = lipgloss.NewStyle().Foreground(t.Subtle)
	t.Label = lipgloss.NewStyle().Bold(true)
	t.Focused = lipgloss.NewStyle().Bold(true).Foreground(t.Accent)
	t.Error = lipgloss.NewStyle().Foreground(t.Bad)
	t.Warning = lipgloss.NewStyle().Foreground(t.Caution)
	t.Success = lipgloss.NewStyle().Bold(true).Foreground(t.Good)
	t.Card = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.Faint).Padding(0, 1)
	t.CardOn = t.Card.BorderForeground(t.Accent)
	t.Panel = lipgloss.NewStyle().Foreground(t.Faint)
	t.Link = lipgloss.NewStyle().Underline(true).Foreground(t.Accent)
	t.Key = lipgloss.NewStyle().Bold(true)
	t.Badge = lipgloss.NewStyle().Foreground(t.Accent).Bold(true)
	t.Big = lipgloss.NewStyle().Bold(true).Foreground(t.Good)
	return t
}

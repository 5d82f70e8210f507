package metrics

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onramp-dev/onramp/store"
)

// declared is every metric name onramp declares.
func declared(t *testing.T) map[string]bool {
	m := New(Source{Census: func(context.Context) (*store.Census, error) { return &store.Census{}, nil }})
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range []prometheus.Collector{m.syncsStarted, m.syncsFinished, m.syncDuration, m.users, m.pages, m.requeues, m.sessions, m.refused, &storeCollector{}} {
			c.Describe(ch)
		}
		close(ch)
	}()
	name := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		names[name.FindStringSubmatch(d.String())[1]] = true
	}
	return names
}

// The alert rules in contrib/ pass Prometheus's own check, and they and the
// Grafana dashboard use only metrics onramp declares.
func TestContribRulesAndDashboard(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is required (.ci/run installs Debian's prometheus package)")
	}
	rules := "../contrib/prometheus/onramp-alerts.yml"
	if out, err := exec.Command("promtool", "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	b, err := os.ReadFile("../contrib/grafana/onramp.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil || len(dash.Panels) == 0 {
		t.Fatalf("dashboard: %v", err)
	}
	r, _ := os.ReadFile(rules)
	exprs := []string{string(r)}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	names := declared(t)
	used := regexp.MustCompile(`onramp_[a-z_]+`)
	for _, e := range exprs {
		for _, n := range used.FindAllString(e, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
			if !names[base] {
				t.Errorf("%s is not a metric onramp declares", n)
			}
		}
	}
}

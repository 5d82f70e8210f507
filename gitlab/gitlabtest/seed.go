package gitlabtest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// User is a sandbox account.
type User struct {
	ID               int64
	Username, Name   string
	Email            string
	State            string // active | blocked | deactivated
	Admin            bool
	Bot              bool
	Internal         bool // ghost, alert-bot, support-bot…: excluded by exclude_internal
	ProjectBot       bool // excluded by without_project_bots
	External         bool
	TwoFactor        bool
	UsingLicenseSeat bool
	CreatedAt        time.Time
	LastSignInAt     *time.Time // nil: never signed in
	LastActivityOn   *time.Time
}

// Group is a top-level group with its members (gitlab.com mode).
type Group struct {
	ID      int64
	Name    string
	Path    string
	OwnerID int64
	Members []int64
	Plan    string
}

// Well-known sandbox users.
const (
	RootID     int64 = 1
	RegularID  int64 = 6
	BlockedID  int64 = 7
	AdminTwoID int64 = 5
)

// DemoTokens are fixed tokens of every sandbox, printed by `onramp demo` so a
// support person can show a success and each helpful failure.
var DemoTokens = struct {
	Admin, NonAdmin, Expired, FewScopes, Revoked, ExpiringSoon, Blocked, Rotating string
}{
	Admin:        "glpat-sbx-admin-7mQp2Xv9Lk4Rt8Wn",
	NonAdmin:     "glpat-sbx-user-Hc3Jd8Fs2Kq6Lw1Z",
	Expired:      "glpat-sbx-expired-Pz5Nb7Gv3Xm9Tq",
	FewScopes:    "glpat-sbx-scopes-Rw4Ek8Yu2Io6Pa",
	Revoked:      "glpat-sbx-revoked-Sd9Fg3Hj7Kl1Zx",
	ExpiringSoon: "glpat-sbx-soon-Cv5Bn8Mq2Wd4Re7T",
	Blocked:      "glpat-sbx-blocked-Ty6Ui1Op4As8Df",
	Rotating:     "glpat-sbx-rotate-Nb3Vc6Xz9Lk2Jh5G",
}

var firstNames = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia",
	"Guido", "Katherine", "Edsger", "Hedy", "John", "Sophie", "Tim", "Jean", "Donald", "Annie", "Niklaus", "Mary",
	"Bjarne", "Shafi", "Leslie", "Evelyn", "Rob", "Lynn", "Brian", "Carla"}
var lastNames = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
	"Turing", "Perlman", "van Rossum", "Johnson", "Dijkstra", "Lamarr", "McCarthy", "Wilson", "Berners-Lee", "Sammet",
	"Knuth", "Easley", "Wirth", "Keller", "Stroustrup", "Goldwasser", "Lamport", "Boyd", "Pike", "Conway", "Kernighan", "Meyer"}

func (s *Sandbox) seed() {
	now := s.opts.Now().UTC()
	rng := rand.New(rand.NewPCG(42, 1024))
	day := func(daysAgo int) *time.Time {
		t := now.AddDate(0, 0, -daysAgo).Truncate(24 * time.Hour)
		return &t
	}
	add := func(u User) {
		u.ID = int64(len(s.users) + 1)
		if u.Email == "" {
			u.Email = u.Username + "@example.com"
		}
		if u.State == "" {
			u.State = "active"
		}
		if u.CreatedAt.IsZero() {
			u.CreatedAt = now.AddDate(0, 0, -400-int(u.ID%300))
		}
		u.UsingLicenseSeat = u.State == "active" && !u.Bot && !u.Internal && !u.External
		s.users = append(s.users, u)
	}
	add(User{Username: "root", Name: "Administrator", Admin: true, TwoFactor: true, LastSignInAt: day(0), LastActivityOn: day(0)})
	add(User{Username: "ghost", Name: "Ghost User", Internal: true})
	add(User{Username: "alert-bot", Name: "GitLab Alert Bot", Internal: true, Bot: true})
	add(User{Username: "support-bot", Name: "GitLab Support Bot", Internal: true, Bot: true})
	add(User{Username: "alice.admin", Name: "Alice Admin", Admin: true, LastSignInAt: day(2), LastActivityOn: day(1)})
	add(User{Username: "bob", Name: "Bob Builder", LastSignInAt: day(3), LastActivityOn: day(3)})
	add(User{Username: "carol.blocked", Name: "Carol Blocked", State: "blocked", LastSignInAt: day(200), LastActivityOn: day(190)})
	add(User{Username: "dave.deactivated", Name: "Dave Deactivated", State: "deactivated", LastSignInAt: day(120), LastActivityOn: day(100)})
	add(User{Username: "erin.new", Name: "Erin Newcomer"}) // never signed in
	add(User{Username: "service_account_ci", Name: "CI service account", Bot: true})
	for i := 0; i < s.opts.Users; i++ {
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		u := User{Username: fmt.Sprintf("%s.%s%d", strings.ToLower(first), strings.ToLower(strings.ReplaceAll(last, " ", "")), i),
			Name: first + " " + last, TwoFactor: rng.IntN(3) > 0}
		switch r := rng.IntN(100); {
		case r < 4:
			u.State = "blocked"
		case r < 8:
			u.State = "deactivated"
		case r < 12:
			u.Bot, u.ProjectBot = true, true
			u.Username = fmt.Sprintf("project_%d_bot_%s", 100+i, randomSuffixFrom(rng, 8))
			u.Name = "Project bot"
			u.Email = u.Username + "@noreply.example.com"
		case r < 15:
			u.External = true
		case r < 16:
			u.Admin = true
		}
		if rng.IntN(10) > 0 && !u.ProjectBot { // one in ten never signed in
			u.LastSignInAt = day(rng.IntN(180))
			u.LastActivityOn = day(rng.IntN(90))
		}
		add(u)
	}
	s.byID = make(map[int64]*User, len(s.users))
	for i := range s.users {
		s.byID[s.users[i].ID] = &s.users[i]
	}

	exp := func(days int) *time.Time { t := now.AddDate(0, 0, days); return &t }
	s.addTokenLocked(DemoTokens.Admin, RootID, "onramp", []string{"read_api", "read_user", "admin_mode"}, exp(365))
	s.addTokenLocked(DemoTokens.NonAdmin, RegularID, "onramp", []string{"read_api", "read_user"}, exp(200))
	s.addTokenLocked(DemoTokens.Expired, RootID, "onramp-old", []string{"read_api", "read_user"}, exp(-3))
	s.addTokenLocked(DemoTokens.FewScopes, RootID, "repo-only", []string{"read_repository"}, exp(90))
	s.addTokenLocked(DemoTokens.Revoked, RootID, "revoked", []string{"api"}, exp(90)).Revoked = true
	s.addTokenLocked(DemoTokens.ExpiringSoon, RootID, "short-lived", []string{"read_api", "read_user", "admin_mode"}, exp(6))
	s.addTokenLocked(DemoTokens.Blocked, BlockedID, "blocked-user", []string{"api"}, exp(90))
	// api lets a token rotate itself before 17.9 (the sandbox is 17.6).
	s.addTokenLocked(DemoTokens.Rotating, RootID, "onramp-renewing", []string{"api", "read_user", "admin_mode"}, exp(30))

	// gitlab.com mode: root owns two top-level groups, bob owns one.
	var members []int64
	for _, u := range s.users {
		if !u.Internal {
			members = append(members, u.ID)
		}
	}
	half := len(members) / 2
	s.groups = []Group{
		{ID: 100, Name: "Acme", Path: "acme", OwnerID: RootID, Members: members, Plan: "ultimate"},
		{ID: 101, Name: "Acme Labs", Path: "acme-labs", OwnerID: RootID, Members: members[:half], Plan: "premium"},
		{ID: 102, Name: "Bob's group", Path: "bobs-group", OwnerID: RegularID, Members: []int64{RegularID}, Plan: "free"},
	}
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomSuffix(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = suffixAlphabet[rand.IntN(len(suffixAlphabet))]
	}
	return string(b)
}

func randomSuffixFrom(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = suffixAlphabet[rng.IntN(36)%26]
	}
	return string(b)
}

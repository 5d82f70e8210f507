package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The store's process tests re-run this test binary as a helper: TestMain
// dispatches on ONRAMP_STORE_HELPER.
func TestMain(m *testing.M) {
	switch os.Getenv("ONRAMP_STORE_HELPER") {
	case "writer":
		crashWriter()
		return
	case "updater":
		concurrentUpdater()
		return
	case "holder":
		holdSyncs()
		return
	}
	os.Exit(m.Run())
}

func rawDB(t testing.TB, path string) *sql.DB {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func helperOpts() Options {
	return Options{Path: os.Getenv("ONRAMP_TEST_STORE"), ConfigDir: os.Getenv("ONRAMP_TEST_CONFIG"), Actor: "helper"}
}

func helperCmd(t testing.TB, role string, opts Options, extra ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ONRAMP_STORE_HELPER="+role,
		"ONRAMP_TEST_STORE="+opts.Path, "ONRAMP_TEST_CONFIG="+opts.ConfigDir)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	return cmd
}

func secretFor(alias string, gen int) string {
	return fmt.Sprintf("glpat-%s-gen%d-0123456789abcdef", alias, gen)
}

// crashWriter creates connections and rewrites one counter connection forever,
// printing each change only after it committed.
func crashWriter() {
	ctx := context.Background()
	s, err := Open(ctx, helperOpts())
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer open:", err)
		os.Exit(1)
	}
	prefix := os.Getenv("ONRAMP_WRITER_PREFIX")
	counter, err := s.Find(ctx, "gitlab", "counter")
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer find counter:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		alias := fmt.Sprintf("%s-%d", prefix, i)
		c := sample(alias)
		c.SetSecret(SecretToken, Secret(secretFor(alias, 0)))
		if err := s.Create(ctx, c); err != nil {
			fmt.Fprintln(os.Stderr, "writer create:", err)
			os.Exit(1)
		}
		fmt.Fprintf(out, "created %s %s\n", c.ID, alias)
		out.Flush()
		up, err := s.Update(ctx, counter.ID, func(c *Connection) error {
			c.SetSecret(SecretToken, Secret(secretFor("counter", int(c.Revision))))
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "writer update:", err)
			os.Exit(1)
		}
		fmt.Fprintf(out, "updated %d\n", up.Revision)
		out.Flush()
	}
}

func crashKills() int {
	if os.Getenv("ONRAMP_LONG_TESTS") != "" {
		return 300
	}
	return 30
}

// TestCrashSafety SIGKILLs a writer at random moments; after each kill the
// store opens and holds every change the writer reported as committed.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes; run without -short")
	}
	ctx := context.Background()
	opts := testOpts(t)
	s := mustOpen(t, opts)
	counter := sample("counter")
	counter.SetSecret(SecretToken, Secret(secretFor("counter", 0)))
	if err := s.Create(ctx, counter); err != nil {
		t.Fatal(err)
	}
	s.Close()

	committed := map[string]string{} // id -> alias
	var lastRevision int64 = 1
	kills := crashKills()
	for round := 0; round < kills; round++ {
		cmd := helperCmd(t, "writer", opts, fmt.Sprintf("ONRAMP_WRITER_PREFIX=r%d", round))
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				mu.Lock()
				switch f[0] {
				case "created":
					committed[f[1]] = f[2]
				case "updated":
					lastRevision, _ = strconv.ParseInt(f[1], 10, 64)
				}
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(20+rand.IntN(120)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		<-done

		s, err := Open(ctx, opts)
		if err != nil {
			t.Fatalf("round %d: store does not open after SIGKILL: %v", round, err)
		}
		mu.Lock()
		for id, alias := range committed {
			c, err := s.Get(ctx, id)
			if err != nil {
				t.Fatalf("round %d: committed %s lost: %v", round, alias, err)
			}
			if c.Alias != alias || c.Secret(SecretToken).Reveal() != secretFor(alias, 0) {
				t.Fatalf("round %d: committed %s damaged: %+v", round, alias, c)
			}
		}
		c, err := s.Get(ctx, counter.ID)
		if err != nil {
			t.Fatalf("round %d: counter: %v", round, err)
		}
		// The counter may be one ahead of what was reported (killed between
		// commit and print), never behind, and its secret matches its revision.
		if c.Revision < lastRevision || c.Revision > lastRevision+1 {
			t.Fatalf("round %d: counter revision %d, last reported %d", round, c.Revision, lastRevision)
		}
		if c.Secret(SecretToken).Reveal() != secretFor("counter", int(c.Revision-1)) {
			t.Fatalf("round %d: counter secret does not match its revision %d", round, c.Revision)
		}
		lastRevision = c.Revision
		mu.Unlock()
		s.Close()
	}
	t.Logf("%d kills, %d committed connections all intact", kills, len(committed))
}

// concurrentUpdater bumps its own connection and the shared one M times each.
func concurrentUpdater() {
	ctx := context.Background()
	s, err := Open(ctx, helperOpts())
	if err != nil {
		fmt.Fprintln(os.Stderr, "updater open:", err)
		os.Exit(1)
	}
	own, shared := os.Getenv("ONRAMP_OWN_ID"), os.Getenv("ONRAMP_SHARED_ID")
	m, _ := strconv.Atoi(os.Getenv("ONRAMP_UPDATES"))
	for i := 0; i < m; i++ {
		for _, id := range []string{own, shared} {
			_, err := s.Update(ctx, id, func(c *Connection) error {
				n, _ := strconv.Atoi(c.StateReason)
				c.StateReason = strconv.Itoa(n + 1)
				c.SetSecret(SecretAccessToken, Secret(fmt.Sprintf("access-%s-%d-0123456789abcdef", id, n+1)))
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "updater:", err)
				os.Exit(1)
			}
		}
	}
	s.Close()
}

// TestConcurrentProcesses: N processes × M updates, on their own connection
// and on one shared connection: every update lands, none is lost, no process
// sees "database is locked".
func TestConcurrentProcesses(t *testing.T) { forEachBackend(t, testConcurrentProcesses) }

func testConcurrentProcesses(t *testing.T, opts Options) {
	if testing.Short() {
		t.Skip("spawns processes; run without -short")
	}
	const n, m = 6, 40
	ctx := context.Background()
	s := mustOpen(t, opts)
	shared := sample("shared")
	s.Create(ctx, shared)
	own := make([]*Connection, n)
	for i := range own {
		own[i] = sample(fmt.Sprintf("own-%d", i))
		s.Create(ctx, own[i])
	}
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = helperCmd(t, "updater", opts, "ONRAMP_OWN_ID="+own[i].ID, "ONRAMP_SHARED_ID="+shared.ID, fmt.Sprintf("ONRAMP_UPDATES=%d", m))
		var stderr strings.Builder
		cmds[i].Stderr = &stderr
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
		defer func(i int) {
			if stderr.Len() > 0 {
				t.Errorf("updater %d said: %s", i, stderr.String())
			}
		}(i)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("updater %d: %v", i, err)
		}
	}
	got, _ := s.Get(ctx, shared.ID)
	if got.StateReason != strconv.Itoa(n*m) || got.Revision != int64(1+n*m) {
		t.Fatalf("shared connection: %s updates, revision %d; want %d", got.StateReason, got.Revision, n*m)
	}
	if got.Secret(SecretAccessToken).Reveal() != fmt.Sprintf("access-%s-%d-0123456789abcdef", shared.ID, n*m) {
		t.Fatal("shared secret does not match the last update")
	}
	for i := range own {
		c, _ := s.Get(ctx, own[i].ID)
		if c.StateReason != strconv.Itoa(m) {
			t.Fatalf("own %d: %s updates, want %d", i, c.StateReason, m)
		}
	}
}

// TestNoSecretOnDisk stores known secrets, then scans every file in the
// store's directory (database, WAL, shared memory) for them, raw and encoded.
func TestNoSecretOnDisk(t *testing.T) {
	ctx := context.Background()
	opts := testOpts(t)
	s := mustOpen(t, opts)
	var secrets []string
	for i := range 20 {
		c := sample(fmt.Sprintf("s%d", i))
		tok := fmt.Sprintf("glpat-SeCrEt%02dxyzxyzxyzxyz", i)
		c.SetSecret(SecretToken, Secret(tok))
		c.SetSecret(SecretRefreshToken, Secret("refresh-"+tok))
		secrets = append(secrets, tok, "refresh-"+tok)
		if err := s.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		s.Update(ctx, c.ID, func(c *Connection) error { c.SetSecret(SecretClientSecret, Secret("client-"+tok)); return nil })
		secrets = append(secrets, "client-"+tok)
	}
	scan := func(stage string) {
		filepath.Walk(filepath.Dir(opts.Path), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			b, _ := os.ReadFile(p)
			for _, sec := range secrets {
				for _, enc := range []string{sec, base64.StdEncoding.EncodeToString([]byte(sec)),
					base64.RawURLEncoding.EncodeToString([]byte(sec)), hex.EncodeToString([]byte(sec))} {
					if strings.Contains(string(b), enc) {
						t.Fatalf("%s: %s holds a secret", stage, p)
					}
				}
			}
			return nil
		})
	}
	scan("open") // WAL still holds the writes
	s.Close()
	scan("closed")
}

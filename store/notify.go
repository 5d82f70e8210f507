package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Notifications: events worth telling someone (a connection needs
// reconnecting, a credential expires soon, a sync failed for good, or
// recovered), each recorded once for the whole store — however many
// workers see it — and delivered to every target by a job of the same
// queue engine, retried with backoff until the target answers.
type Notifications interface {
	// AddNotifyTarget keeps a target (kind NotifyWebhook with a URL, or
	// NotifyCommand with a shell command), sealed like a secret; the same
	// value twice is one target.
	AddNotifyTarget(ctx context.Context, kind, value string) (*NotifyTarget, error)
	// NotifyTargets lists the targets, without their values.
	NotifyTargets(ctx context.Context) ([]NotifyTarget, error)
	// Notify records an event unless one of the same connection, kind and
	// occasion was recorded before; a new one is queued for every target.
	// It reports whether the event is new.
	Notify(ctx context.Context, n Notification) (bool, error)
	// LastNotified is, per connection, when its last event was delivered.
	LastNotified(ctx context.Context, connectionIDs []string) (map[string]NotifiedAt, error)
	// NotifyBacklog counts the events not delivered yet and the oldest's time.
	NotifyBacklog(ctx context.Context) (int, time.Time, error)
}

// Target kinds.
const (
	NotifyWebhook = "webhook"
	NotifyCommand = "command"
)

// NotifyTarget is where events go. Label shows it without its secret: a
// webhook's scheme and host, or "a command".
type NotifyTarget struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
}

// Notification is one event about a connection. Occasion makes it unique
// (the credential's expiry and threshold, the run, the connection's
// revision); Event is its JSON, sent as it is.
type Notification struct {
	ConnectionID, Kind, Occasion string
	Event                        []byte
}

// NotifiedAt is a connection's last delivered event.
type NotifiedAt struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// Delivery is one event to one target, as a worker sends it.
type Delivery struct {
	NotificationID int64
	Kind           string // the event's
	Event          []byte
	TargetKind     string
	// Target is the webhook's URL or the command: a secret.
	Target Secret
}

// NotifyArgs is a delivery job's arguments: one event, one target.
type NotifyArgs struct {
	NotificationID int64  `json:"notification_id" river:"unique"`
	TargetID       string `json:"target_id" river:"unique"`
}

// Kind is River's name for the job.
func (NotifyArgs) Kind() string { return "notify" }

// NotifyQueue is where deliveries wait; every worker serves it.
const NotifyQueue = "notify"

// notifyMaxAttempts: with notifyBackoff, about two days of retries.
const notifyMaxAttempts = 60

// notifyBackoff: 2 s doubling to an hour — a receiver that is down for a
// while gets the event soon after it is back.
func notifyBackoff(attempt int) time.Duration {
	return min(2*time.Second<<min(max(attempt-1, 0), 20), time.Hour)
}

func notifyInsertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: NotifyQueue, MaxAttempts: notifyMaxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStateCompleted}}}
}

// AddNotifyTarget implements Notifications.
func (s *sqlStore) AddNotifyTarget(ctx context.Context, kind, value string) (*NotifyTarget, error) {
	if kind != NotifyWebhook && kind != NotifyCommand {
		return nil, fmt.Errorf("unknown notification target kind %q", kind)
	}
	sum := sha256.Sum256([]byte(s.storeID + "|" + kind + "|" + value))
	fp := hex.EncodeToString(sum[:])
	t := &NotifyTarget{ID: "n_" + fp[:16], Kind: kind, Label: targetLabel(kind, value), CreatedAt: s.now().UTC()}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var existing string
		err := s.queryRow(ctx, tx, `SELECT id FROM notify_targets WHERE fingerprint = ?`, fp).Scan(&existing)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO notify_targets (id, kind, label, fingerprint, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, kind, t.Label, fp, s.seal.seal(t.ID, "notify_target", []byte(value)), formatTime(t.CreatedAt))
		return err
	})
	if err != nil {
		return nil, s.wrap("keep the notification target", err)
	}
	return t, nil
}

// targetLabel shows a target without what may be secret in it.
func targetLabel(kind, value string) string {
	if kind == NotifyCommand {
		return "a command"
	}
	return RedactURL(value)
}

// NotifyTargets implements Notifications.
func (s *sqlStore) NotifyTargets(ctx context.Context) ([]NotifyTarget, error) {
	rows, err := s.query(ctx, s.db, `SELECT id, kind, label, created_at FROM notify_targets ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrap("list notification targets", err)
	}
	defer rows.Close()
	var out []NotifyTarget
	for rows.Next() {
		var t NotifyTarget
		var created string
		if err := rows.Scan(&t.ID, &t.Kind, &t.Label, &created); err != nil {
			return nil, s.wrap("list notification targets", err)
		}
		t.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Notify implements Notifications.
func (s *sqlStore) Notify(ctx context.Context, n Notification) (bool, error) {
	fresh := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		err := s.queryRow(ctx, tx, `INSERT INTO notifications (connection_id, kind, occasion, event, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (connection_id, kind, occasion) DO NOTHING RETURNING id`,
			n.ConnectionID, n.Kind, n.Occasion, string(n.Event), formatTime(s.now())).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // told before
		}
		if err != nil {
			return err
		}
		fresh = true
		targets, err := s.query(ctx, tx, `SELECT id FROM notify_targets`)
		if err != nil {
			return err
		}
		var ids []string
		for targets.Next() {
			var t string
			if err := targets.Scan(&t); err != nil {
				targets.Close()
				return err
			}
			ids = append(ids, t)
		}
		targets.Close()
		for _, t := range ids {
			if _, err := s.client.InsertTx(ctx, tx, NotifyArgs{NotificationID: id, TargetID: t}, notifyInsertOpts()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, s.wrap("record the notification", err)
	}
	return fresh, nil
}

// LastNotified implements Notifications.
func (s *sqlStore) LastNotified(ctx context.Context, connectionIDs []string) (map[string]NotifiedAt, error) {
	out := map[string]NotifiedAt{}
	err := inChunks(connectionIDs, func(marks string, args []any) error {
		rows, err := s.query(ctx, s.db, `SELECT connection_id, kind, delivered_at FROM notifications
			WHERE delivered_at IS NOT NULL AND connection_id IN (`+marks+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, kind, at string
			if err := rows.Scan(&id, &kind, &at); err != nil {
				return err
			}
			if t, _ := time.Parse(time.RFC3339Nano, at); t.After(out[id].At) {
				out[id] = NotifiedAt{Kind: kind, At: t}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.wrap("read notifications", err)
	}
	return out, nil
}

// notifyWorker delivers one event to one target with the deliver function
// and records the delivery; a failed delivery is retried with backoff.
type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	s       *sqlStore
	deliver func(ctx context.Context, d Delivery) error
}

func (w *notifyWorker) NextRetry(job *river.Job[NotifyArgs]) time.Time {
	return time.Now().Add(jitter(notifyBackoff(job.Attempt), 0.1))
}

func (w *notifyWorker) Timeout(*river.Job[NotifyArgs]) time.Duration { return time.Minute }

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	s := w.s
	d := Delivery{NotificationID: job.Args.NotificationID}
	var event, sealed []byte
	var eventText string
	err := s.queryRow(ctx, s.db, `SELECT n.kind, n.event, t.kind, t.sealed FROM notifications n, notify_targets t WHERE n.id = ? AND t.id = ?`,
		job.Args.NotificationID, job.Args.TargetID).Scan(&d.Kind, &eventText, &d.TargetKind, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return river.JobCancel(errors.New("the event or its target is gone"))
	}
	if err != nil {
		return s.wrap("read the notification", err)
	}
	event = []byte(eventText)
	value, err := s.seal.open(job.Args.TargetID, "notify_target", sealVersion, sealed)
	if err != nil {
		return river.JobCancel(err)
	}
	d.Event, d.Target = event, Secret(value)
	if err := w.deliver(ctx, d); err != nil {
		return err
	}
	// Delivered: a failure to record it now would send it again, so the
	// event carries its id (X-Onramp-Event) for a receiver to drop repeats.
	if _, err := s.exec(ctx, s.db, `UPDATE notifications SET delivered_at = ? WHERE id = ?`, formatTime(s.now()), job.Args.NotificationID); err != nil {
		return s.wrap("record the delivery", err)
	}
	return nil
}

// RedactURL is a webhook's address as it may be shown: its scheme and host
// (a chat tool's webhook carries its secret in the path).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "a webhook"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// NotifyBacklog implements Notifications.
func (s *sqlStore) NotifyBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullString
	if err := s.queryRow(ctx, s.db, `SELECT count(*), min(created_at) FROM notifications WHERE delivered_at IS NULL
		AND EXISTS (SELECT 1 FROM notify_targets)`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, s.wrap("count undelivered notifications", err)
	}
	t, _ := time.Parse(time.RFC3339Nano, oldest.String)
	return n, t, nil
}

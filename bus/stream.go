package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig describes the stream that holds published articles.
type StreamConfig struct {
	// Name is the stream name, e.g. "ARTICLES". Required.
	Name string
	// Subjects bound to the stream, e.g. []string{"articles.>"}.
	Subjects []string
	// Replicas is the number of copies (1 on a single server, 3 on a
	// cluster). Zero means 1.
	Replicas int
	// DuplicateWindow is how long the stream remembers message ids to drop
	// duplicates. Zero means the server default (2m).
	DuplicateWindow time.Duration
	// MaxAge is how long messages are kept. Zero means forever.
	MaxAge time.Duration
}

// ErrStreamConflict marks an existing stream that EnsureStream will not change: doing so would
// lower its retention or its replicas. Only the operator can settle it; waiting will not.
var ErrStreamConflict = errors.New("stream settings conflict")

// EnsureStream creates the stream when it is missing: file-backed, limits-based, discarding its
// oldest messages when a limit is hit.
//
// When the stream exists, it is changed only where that is safe: subjects of c it lacks are
// added, its duplicate window is set to c's, and its max age and replicas are raised to c's.
// What c does not set (max messages, max bytes, storage, discard policy, further subjects) is
// left as the operator made it. A stream whose max age or replicas c would lower is refused with
// an error wrapping ErrStreamConflict that names the setting, both values, and how to lower it
// on purpose: lowering max age deletes stored messages.
//
// EnsureStream fails too when the server cannot honour c (for example Replicas 3 on a single
// server) or is unreachable.
func (b *Bus) EnsureStream(ctx context.Context, c StreamConfig) error {
	if c.Name == "" {
		return errors.New("ensure stream: empty name")
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if !b.Connected() {
		return fmt.Errorf("ensure stream %q: %w", c.Name, ErrNotConnected)
	}
	for range 3 { // another process may create the stream between the look and the create
		s, err := b.js.Stream(ctx, c.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = b.js.CreateStream(ctx, jetstream.StreamConfig{
				Name:       c.Name,
				Subjects:   c.Subjects,
				Retention:  jetstream.LimitsPolicy,
				Discard:    jetstream.DiscardOld,
				Storage:    jetstream.FileStorage,
				Replicas:   c.Replicas,
				Duplicates: c.DuplicateWindow,
				MaxAge:     c.MaxAge,
			})
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				continue
			}
			if err != nil {
				return fmt.Errorf("ensure stream %q: create: %w", c.Name, b.connErr(err))
			}
			b.log.Info("stream created", "stream", c.Name)
			return nil
		}
		if err != nil {
			return fmt.Errorf("ensure stream %q: %w", c.Name, b.connErr(err))
		}
		have := s.CachedInfo().Config
		want, changes, err := safeUpdate(have, c)
		if err != nil {
			return fmt.Errorf("ensure stream %q: %w", c.Name, err)
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := b.js.UpdateStream(ctx, want); err != nil {
			return fmt.Errorf("ensure stream %q: update %v: %w", c.Name, changes, b.connErr(err))
		}
		b.log.Info("stream updated", "stream", c.Name, "changes", changes)
		return nil
	}
	return fmt.Errorf("ensure stream %q: created and deleted again while feedd looked at it", c.Name)
}

// safeUpdate returns have changed to c where that is safe, and what it changed, or an error
// wrapping ErrStreamConflict when c would lower have's max age or replicas.
func safeUpdate(have jetstream.StreamConfig, c StreamConfig) (jetstream.StreamConfig, []string, error) {
	want := have
	want.Subjects = slices.Clone(have.Subjects)
	var changes []string
	switch {
	case longer(c.MaxAge, have.MaxAge):
		changes = append(changes, "max_age "+age(have.MaxAge)+" -> "+age(c.MaxAge))
		want.MaxAge = c.MaxAge
	case longer(have.MaxAge, c.MaxAge):
		return have, nil, fmt.Errorf("%w: nats.max_age %s is shorter than the stream's max age %s: feedd does not "+
			"lower a stream's retention at start, which would delete stored messages; to lower it on purpose, run "+
			"`nats stream edit %s --max-age %s`, else set nats.max_age to %s",
			ErrStreamConflict, age(c.MaxAge), age(have.MaxAge), have.Name, cliAge(c.MaxAge), age(have.MaxAge))
	}
	switch {
	case c.Replicas > have.Replicas:
		changes = append(changes, "replicas "+strconv.Itoa(have.Replicas)+" -> "+strconv.Itoa(c.Replicas))
		want.Replicas = c.Replicas
	case c.Replicas < have.Replicas:
		return have, nil, fmt.Errorf("%w: nats.replicas %d is fewer than the stream's %d replicas: feedd does not "+
			"lower a stream's replicas at start; to lower them on purpose, run `nats stream edit %s --replicas %d`, "+
			"else set nats.replicas to %d",
			ErrStreamConflict, c.Replicas, have.Replicas, have.Name, c.Replicas, have.Replicas)
	}
	if c.DuplicateWindow != 0 && c.DuplicateWindow != have.Duplicates {
		changes = append(changes, "duplicate_window "+have.Duplicates.String()+" -> "+c.DuplicateWindow.String())
		want.Duplicates = c.DuplicateWindow
	}
	for _, sub := range c.Subjects {
		if !slices.Contains(want.Subjects, sub) {
			changes = append(changes, "subjects + "+sub)
			want.Subjects = append(want.Subjects, sub)
		}
	}
	return want, changes, nil
}

// longer reports whether max age a keeps messages longer than b (0 is forever).
func longer(a, b time.Duration) bool {
	switch {
	case a == b:
		return false
	case a == 0:
		return true
	case b == 0:
		return false
	}
	return a > b
}

// age formats a max age: "720h", "90m", or "unlimited" for 0.
func age(d time.Duration) string {
	switch {
	case d == 0:
		return "unlimited"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// cliAge formats a max age for the nats command line, where -1 is unlimited.
func cliAge(d time.Duration) string {
	if d == 0 {
		return "-1"
	}
	return age(d)
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message is one outbox row: a message waiting to be published, until JetStream acknowledges it.
type Message struct {
	Seq       int64 // assigned by Insert: strictly increasing, never reused
	MsgID     string
	Subject   string
	Header    map[string]string // stored as a JSON object
	Data      []byte
	CreatedAt time.Time
	Attempts  int    // failed publish attempts so far
	LastError string // error of the last failed attempt
}

// Outbox queries; the sent_at conditions select the partial indexes outbox_unsent and
// outbox_sent.
const (
	queryPending = `SELECT o.seq, o.msg_id, o.subject, o.header, b.data, o.created_at, o.attempts, o.last_error
FROM outbox o JOIN outbox_body b ON b.seq = o.seq
WHERE o.sent_at IS NULL AND o.seq > ?
ORDER BY o.seq
LIMIT ?`
	queryPruneSent = `DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?`
	queryDepth     = `SELECT count(*) FROM outbox WHERE sent_at IS NULL`
)

// pendingMaxBytes bounds the bodies one Pending call returns: a page of large messages stops
// early rather than holding limit of them in memory at once.
const pendingMaxBytes = 8 << 20

// Pending returns up to limit unsent messages with a sequence number above afterSeq, in
// sequence order. It stops early, after at least one message, once the bodies returned reach
// 8 MiB. Page through the outbox by passing the last Seq returned as afterSeq.
func (s *Store) Pending(ctx context.Context, afterSeq int64, limit int) ([]Message, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: pending: limit %d is not positive", limit)
	}
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: pending: %w", err)
	}
	defer c.Close()
	rows, err := c.QueryContext(ctx, queryPending, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending: %w", classify(err))
	}
	defer rows.Close()
	msgs := make([]Message, 0, min(limit, 512))
	size := 0
	for size < pendingMaxBytes && rows.Next() {
		// The body is scanned as RawBytes, which database/sql hands over without copying it:
		// go-sqlite3 copies every blob out of SQLite into a slice of its own, made anew for
		// each row, so the slice stays valid after the next row. Scanning into a []byte
		// would copy each 6 KB body a second time. TestPendingBodiesSurviveLaterRows holds
		// the driver to this.
		var (
			m       Message
			header  string
			data    sql.RawBytes
			created int64
		)
		if err := rows.Scan(&m.Seq, &m.MsgID, &m.Subject, &header, &data, &created,
			&m.Attempts, &m.LastError); err != nil {
			return nil, fmt.Errorf("store: pending: %w", classify(err))
		}
		if header != "{}" {
			if err := decodeHeader(header, &m.Header); err != nil {
				return nil, fmt.Errorf("store: pending: message %d header %q: %w", m.Seq, header, err)
			}
		}
		m.Data = data
		m.CreatedAt = time.UnixMilli(created).UTC()
		msgs = append(msgs, m)
		size += len(data)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending: %w", classify(err))
	}
	return msgs, nil
}

// MarkSent records the messages as sent at the given time, in one transaction; they leave
// Pending. Sequence numbers that are unknown or already sent are skipped.
//
// The relay marks whole batches of consecutive messages, so each run of consecutive sequence
// numbers is marked by one statement rather than one per message.
func (s *Store) MarkSent(ctx context.Context, seqs []int64, at time.Time) error {
	if at.IsZero() {
		return errors.New("store: mark sent: time is zero")
	}
	if len(seqs) == 0 {
		return nil
	}
	qctx, err := quiet(ctx)
	if err != nil {
		return fmt.Errorf("store: mark sent %d messages: %w", len(seqs), err)
	}
	var marked int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(qctx,
			`UPDATE outbox SET sent_at = ? WHERE seq BETWEEN ? AND ? AND sent_at IS NULL`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range seqRuns(seqs) {
			res, err := stmt.ExecContext(qctx, at.UnixMilli(), r[0], r[1])
			if err != nil {
				return fmt.Errorf("messages %d to %d: %w", r[0], r[1], err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("messages %d to %d: %w", r[0], r[1], err)
			}
			marked += n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: mark sent %d messages: %w", len(seqs), classify(err))
	}
	s.unsent.Add(-marked)
	return nil
}

// seqRuns returns the runs of consecutive numbers in seqs, as [first, last] pairs in ascending
// order; seqs may be in any order and hold repeats.
func seqRuns(seqs []int64) [][2]int64 {
	sorted := slices.Clone(seqs)
	slices.Sort(sorted)
	var runs [][2]int64
	for _, q := range sorted {
		if n := len(runs); n > 0 && q <= runs[n-1][1]+1 {
			runs[n-1][1] = max(runs[n-1][1], q)
			continue
		}
		runs = append(runs, [2]int64{q, q})
	}
	return runs
}

// RecordFailure counts a failed publish attempt for each unsent message and keeps errMsg as its
// last error, in one transaction.
func (s *Store) RecordFailure(ctx context.Context, seqs []int64, errMsg string) error {
	err := s.eachSeq(ctx, seqs,
		`UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ? AND sent_at IS NULL`,
		errMsg)
	if err != nil {
		return fmt.Errorf("store: record failure of %d messages: %w", len(seqs), classify(err))
	}
	return nil
}

// eachSeq runs the statement once per sequence number, in one write transaction. The statement
// takes arg then the sequence number.
func (s *Store) eachSeq(ctx context.Context, seqs []int64, query string, arg any) error {
	if len(seqs) == 0 {
		return nil
	}
	qctx, err := quiet(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(qctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, seq := range seqs {
			if _, err := stmt.ExecContext(qctx, arg, seq); err != nil {
				return fmt.Errorf("message %d: %w", seq, err)
			}
		}
		return nil
	})
}

// Unsent returns the number of unsent messages without a query: it is counted when the Store is
// opened and kept up to date by Insert, Batch.Commit and MarkSent. It is exact as long as this
// Store is the only writer of the database (as the daemon is); OutboxDepth counts the rows. On a
// Store opened with OpenReadOnly, which another process writes, it is 0: count with OutboxDepth.
func (s *Store) Unsent() int64 { return s.unsent.Load() }

// countUnsent sets the count Unsent returns from the database.
func (s *Store) countUnsent(ctx context.Context) error {
	n, err := s.OutboxDepth(ctx)
	if err != nil {
		return err
	}
	s.unsent.Store(n)
	return nil
}

// OutboxDepth returns the number of unsent messages, counted in the database.
func (s *Store) OutboxDepth(ctx context.Context) (int64, error) {
	c, ctx, err := s.conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: outbox depth: %w", err)
	}
	defer c.Close()
	var n int64
	err = c.QueryRowContext(ctx, queryDepth).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: outbox depth: %w", classify(err))
	}
	return n, nil
}

// PruneSent deletes the messages sent before the given time and returns how many it deleted.
// Unsent messages are never deleted.
func (s *Store) PruneSent(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queryPruneSent, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune messages sent before %s: %w",
			before.UTC().Format(time.RFC3339), classify(err))
	}
	return n, nil
}

// decodeHeader decodes the JSON object encodeHeader wrote: string values, usually without
// escapes, which it reads without reflection; anything else goes to encoding/json.
func decodeHeader(s string, h *map[string]string) error {
	if strings.IndexByte(s, '\\') >= 0 || len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return json.Unmarshal([]byte(s), h)
	}
	m := make(map[string]string, strings.Count(s, `":"`))
	rest := s[1 : len(s)-1]
	for rest != "" {
		var k, v string
		var ok bool
		if k, rest, ok = quoted(rest); !ok || rest == "" || rest[0] != ':' {
			return json.Unmarshal([]byte(s), h)
		}
		if v, rest, ok = quoted(rest[1:]); !ok {
			return json.Unmarshal([]byte(s), h)
		}
		m[k] = v
		if rest != "" {
			if rest[0] != ',' {
				return json.Unmarshal([]byte(s), h)
			}
			rest = rest[1:]
		}
	}
	*h = m
	return nil
}

func quoted(s string) (string, string, bool) {
	if s == "" || s[0] != '"' {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

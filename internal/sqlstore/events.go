package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const eventColumns = `id, account_id, kind, at, ip, user_agent, count, actor, operation, outcome`

// AddEvent appends e to its account's activity and sets e.ID.
func (t *Tx) AddEvent(ctx context.Context, e *tacit.Event) error {
	err := t.Q.QueryRow(ctx,
		`INSERT INTO events (account_id, kind, at, ip, user_agent, count, actor, operation, outcome)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		e.AccountID, string(e.Kind), Micros(e.At), e.IP, e.UserAgent, e.Count, e.Actor, e.Operation, e.Outcome).Scan(&e.ID)
	return t.created("add event", err)
}

// Events lists up to limit of an account's events, newest first.
func (t *Tx) Events(ctx context.Context, accountID int64, limit int) ([]tacit.Event, error) {
	list, err := collect(ctx, t.Q, scanEvent,
		`SELECT `+eventColumns+` FROM events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("events of account %d: %w", accountID, err)
	}
	return list, nil
}

// PurgeActivity deletes the events from before before.
func (s *Store) PurgeActivity(ctx context.Context, before time.Time) error {
	err := s.Engine.Statement(ctx, func(q Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM events WHERE at < $1`, Micros(before))
		return err
	})
	if err != nil {
		return fmt.Errorf("purge activity: %w", err)
	}
	return nil
}

func scanEvent(row Row) (tacit.Event, error) {
	var e tacit.Event
	var kind string
	var at int64
	if err := row.Scan(&e.ID, &e.AccountID, &kind, &at, &e.IP, &e.UserAgent, &e.Count, &e.Actor, &e.Operation, &e.Outcome); err != nil {
		return e, err
	}
	e.Kind, e.At = tacit.EventKind(kind), FromMicros(at)
	return e, nil
}

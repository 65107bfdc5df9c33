package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
)

// infoColumns are an account's AccountInfo, its live sessions counted at
// $1.
const infoColumns = `a.id, a.email, a.created_at, a.disabled,
	COALESCE((SELECT o.enabled FROM totp o WHERE o.account_id = a.id), FALSE),
	(SELECT count(*) FROM recovery_codes r WHERE r.account_id = a.id),
	(SELECT count(*) FROM sessions s WHERE s.account_id = a.id AND s.expires_at > $1),
	COALESCE((SELECT max(s.created_at) FROM sessions s WHERE s.account_id = a.id AND s.expires_at > $1), 0),
	COALESCE((SELECT max(e.at) FROM events e WHERE e.account_id = a.id AND e.kind = 'signed_in'), 0)`

// likeEscaper escapes LIKE's wildcards, with \ as the escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListAccounts returns up to q.Limit accounts after q.After that match q,
// in ID order. SQLite's LIKE ignores ASCII case and PostgreSQL's does
// not; with the addresses case-folded and q.Contains folded the same way
// (tacit.AccountQuery), both engines agree.
func (s *Store) ListAccounts(ctx context.Context, q tacit.AccountQuery) ([]tacit.AccountInfo, error) {
	where := []string{`a.id > $2`}
	args := []any{Micros(q.Now), q.After}
	if q.Contains != "" {
		args = append(args, "%"+likeEscaper.Replace(q.Contains)+"%")
		where = append(where, fmt.Sprintf(`a.email LIKE $%d ESCAPE '\'`, len(args)))
	}
	if q.State != "" {
		args = append(args, q.State == tacit.AccountDisabled)
		where = append(where, fmt.Sprintf(`a.disabled = $%d`, len(args)))
	}
	args = append(args, q.Limit)
	query := `SELECT ` + infoColumns + ` FROM accounts a WHERE ` + strings.Join(where, ` AND `) +
		fmt.Sprintf(` ORDER BY a.id LIMIT $%d`, len(args))
	var list []tacit.AccountInfo
	err := s.Engine.Read(ctx, func(qr Querier) error {
		var err error
		list, err = collect(ctx, qr, scanInfo, query, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// AccountInfo describes the account of a normalised address at now.
func (s *Store) AccountInfo(ctx context.Context, email string, now time.Time) (tacit.AccountInfo, error) {
	var info tacit.AccountInfo
	err := s.Engine.Read(ctx, func(q Querier) error {
		var err error
		info, err = scanInfo(q.QueryRow(ctx, `SELECT `+infoColumns+` FROM accounts a WHERE a.email = $2`, Micros(now), email))
		return err
	})
	if err != nil {
		return tacit.AccountInfo{}, NotFound("account info", err)
	}
	return info, nil
}

func scanInfo(row Row) (tacit.AccountInfo, error) {
	var i tacit.AccountInfo
	var created, last, signIn int64
	var disabled bool
	if err := row.Scan(&i.ID, &i.Email, &created, &disabled, &i.MFA, &i.RecoveryCodes, &i.Sessions, &last, &signIn); err != nil {
		return i, err
	}
	i.CreatedAt, i.LastSessionAt, i.LastSignInAt = FromMicros(created), FromMicros(last), FromMicros(signIn)
	i.State = tacit.AccountActive
	if disabled {
		i.State = tacit.AccountDisabled
	}
	return i, nil
}

// OutboxPending counts the mails neither delivered nor given up, for the
// outbox depth metric.
func (s *Store) OutboxPending(ctx context.Context) (int64, error) {
	var n int64
	err := s.Engine.Reader().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("outbox pending: %w", err)
	}
	return n, nil
}

// LiveSessions counts the sessions live at now: before their absolute
// expiry, and seen after idleSince (now less the idle timeout). Ended
// sessions are deleted, so this is every session that still signs in,
// for the live sessions metric.
func (s *Store) LiveSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	var n int64
	err := s.Engine.Reader().QueryRow(ctx, `SELECT count(*) FROM sessions WHERE expires_at > $1 AND last_seen_at > $2`,
		Micros(now), Micros(idleSince)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("live sessions: %w", err)
	}
	return n, nil
}

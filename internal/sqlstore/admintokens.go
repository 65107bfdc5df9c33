package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const adminTokenColumns = `id, name, scope, secret_hash, created_at, last_used_at`

func scanAdminToken(row Row) (tacit.AdminToken, error) {
	var t tacit.AdminToken
	var scope string
	var created, used int64
	if err := row.Scan(&t.ID, &t.Name, &scope, &t.SecretHash, &created, &used); err != nil {
		return t, err
	}
	t.Scope, t.CreatedAt, t.LastUsedAt = tacit.AdminScope(scope), FromMicros(created), FromMicros(used)
	return t, nil
}

// CreateAdminToken inserts t.
func (t *Tx) CreateAdminToken(ctx context.Context, a tacit.AdminToken) error {
	_, err := t.Q.Exec(ctx, `INSERT INTO admin_tokens (`+adminTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ID, a.Name, string(a.Scope), a.SecretHash, Micros(a.CreatedAt), Micros(a.LastUsedAt))
	return t.created("create admin token", err)
}

// AdminTokenByID finds the token whose selector is id.
func (t *Tx) AdminTokenByID(ctx context.Context, id string) (tacit.AdminToken, error) {
	a, err := scanAdminToken(t.Q.QueryRow(ctx, `SELECT `+adminTokenColumns+` FROM admin_tokens WHERE id = $1`, id))
	if err != nil {
		return tacit.AdminToken{}, NotFound("admin token", err)
	}
	return a, nil
}

// AdminTokens lists every token, by name.
func (t *Tx) AdminTokens(ctx context.Context) ([]tacit.AdminToken, error) {
	list, err := collect(ctx, t.Q, scanAdminToken, `SELECT `+adminTokenColumns+` FROM admin_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	return list, nil
}

// DeleteAdminToken removes the token called name.
func (t *Tx) DeleteAdminToken(ctx context.Context, name string) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM admin_tokens WHERE name = $1`, name)
	return oneRow("delete admin token", n, err)
}

// TouchAdminToken sets when token id was last used.
func (t *Tx) TouchAdminToken(ctx context.Context, id string, at time.Time) error {
	n, err := t.Q.Exec(ctx, `UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1`, id, Micros(at))
	return oneRow("touch admin token", n, err)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
)

// seedBatch is how many accounts seed creates per transaction.
const seedBatch = 1_000

// seedProgressEvery is how many accounts pass between progress lines.
const seedProgressEvery = 100_000

// seedDomain is the domain of every seeded address: example.com is
// reserved (RFC 2606), so no mail to a seeded account can reach anyone.
const seedDomain = "example.com"

// seedOptions are seed's own flags.
type seedOptions struct {
	accounts int
	password string
	prefix   string
	// batch is how many accounts go into one transaction;
	// progressEvery how many pass between progress lines.
	batch, progressEvery int
}

// flags defines seed's flags on fs, next to the configuration's.
func (o *seedOptions) flags(fs *flag.FlagSet) {
	o.batch, o.progressEvery = seedBatch, seedProgressEvery
	fs.IntVar(&o.accounts, "accounts", 0, "how many accounts to create")
	fs.StringVar(&o.password, "password", "seed password 1", "the password of every seeded account")
	fs.StringVar(&o.prefix, "prefix", "seed", "addresses are <prefix>-<i>@example.com")
}

// email returns the address of seeded account i.
func (o *seedOptions) email(i int) string {
	return o.prefix + "-" + strconv.Itoa(i) + "@" + seedDomain
}

// check refuses options that would make no accounts, or addresses that
// are not valid and normalised (the flows could never sign them in).
func (o *seedOptions) check() error {
	if o.accounts < 1 {
		return usageError{"seed: --accounts must be a whole number ≥ 1"}
	}
	for _, e := range []string{o.email(1), o.email(o.accounts)} {
		if tacit.NormalizeEmail(e) != e || !tacit.ValidEmail(e) {
			return usageError{fmt.Sprintf("seed: --prefix %q makes the address %q, which is not a valid lower-case address", o.prefix, e)}
		}
	}
	return nil
}

// seed fills the configured database with verified accounts for
// benchmarks: <prefix>-1@example.com to <prefix>-N@example.com, all with
// one password. Its Argon2id hash is computed once, with the configured
// parameters, and shared: hashing a million passwords would take hours,
// and sign-in does the same work whatever the salt.
func seed(ctx context.Context, c Config, o seedOptions, stdout io.Writer) (err error) {
	if err := o.check(); err != nil {
		return err
	}
	// Not while a serve runs on the same SQLite file: its sign-ups could
	// take the addresses seed has just found free.
	lock, err := lockStore(c, "seed")
	if err != nil {
		return err
	}
	defer lock.release()
	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if err := migrateStore(ctx, db, c.Database, stdout); err != nil {
		return err
	}
	if err := checkSeedFree(ctx, c.Database, o); err != nil {
		return err
	}
	hasher, err := argon2id.New(c.HashParams(), 0)
	if err != nil {
		return fmt.Errorf("%s, %s: %w", c.name("hash_memory_kib"), c.name("hash_time"), err)
	}
	hash, err := hasher.Hash(o.password)
	if err != nil {
		return fmt.Errorf("hash the seed password: %w", err)
	}
	return insertSeeds(ctx, db, c.Database, o, hash, stdout)
}

// checkSeedFree refuses if any address seed would create has an account.
// One read finds every address of the form <prefix>-…@example.com (LIKE,
// which SQLite applies without regard to ASCII case: a superset), and Go
// picks out those in 1…N; a lookup per address would take minutes for a
// million.
func checkSeedFree(ctx context.Context, d Database, o seedOptions) (err error) {
	s, err := openSnapshot(ctx, d, "seed")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("seed: %w", d.redact(cerr))
		}
	}()
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(o.prefix) + `-%@` + seedDomain
	taken := 0 // the lowest i whose address has an account
	err = s.EmailsLike(ctx, like, func(email string) error {
		num := strings.TrimSuffix(strings.TrimPrefix(email, o.prefix+"-"), "@"+seedDomain)
		i, err := strconv.Atoi(num)
		if err == nil && i >= 1 && i <= o.accounts && o.email(i) == email && (taken == 0 || i < taken) {
			taken = i
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed: look for existing accounts: %w", d.redact(err))
	}
	if taken > 0 {
		return fmt.Errorf("seed: %s already has an account; seed only addresses that have none (choose another --prefix)", o.email(taken))
	}
	return nil
}

// insertSeeds creates the accounts, o.batch per transaction, printing
// progress and the rate.
func insertSeeds(ctx context.Context, db store, d Database, o seedOptions, hash string, stdout io.Writer) error {
	start := time.Now()
	rate := func(n int) float64 { return float64(n) / max(time.Since(start).Seconds(), 1e-9) }
	next := o.progressEvery
	for first := 1; first <= o.accounts; first += o.batch {
		last := min(first+o.batch-1, o.accounts)
		if err := insertSeedBatch(ctx, db, o, hash, first, last); err != nil {
			return fmt.Errorf("seed: %w", d.redact(err))
		}
		for ; last >= next && next < o.accounts; next += o.progressEvery {
			if _, err := fmt.Fprintf(stdout, "seeded %d of %d accounts (%.0f accounts/s)\n", next, o.accounts, rate(last)); err != nil {
				return err
			}
		}
	}
	took := time.Since(start)
	_, err := fmt.Fprintf(stdout, "seeded %d accounts %s … %s in %s (%.0f accounts/s)\n",
		o.accounts, o.email(1), o.email(o.accounts), took.Round(time.Millisecond), rate(o.accounts))
	return err
}

// insertSeedBatch creates accounts first…last in one transaction.
func insertSeedBatch(ctx context.Context, db store, o seedOptions, hash string, first, last int) error {
	now := time.Now()
	return db.Update(ctx, func(tx tacit.Tx) error {
		for i := first; i <= last; i++ {
			a := tacit.Account{Email: o.email(i), PasswordHash: hash, CreatedAt: now}
			err := tx.CreateAccount(ctx, &a)
			if errors.Is(err, tacit.ErrConflict) {
				// Created since checkSeedFree looked.
				return fmt.Errorf("%s already has an account", a.Email)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

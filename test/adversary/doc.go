// Package adversary holds the issue 12 adversary suite (its tests only): a
// real relay on 127.0.0.1, real PostgreSQL, honest agents running the
// engine, and an attacker relay client that holds no keys, sees every line
// and forges any line. See README.md for the attacks and the oracles.
package adversary

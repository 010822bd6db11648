package store

// roleCols is the column list every role_state read scans, in roleRow order.
const roleCols = `self_id, role, peer_id, state, local_nonce, peer_nonce, local_reference, peer_reference,
	exchange_count, finalize_retry_count, peer_address, peer_sign_pub, peer_kx_pub, hs_derived_at,
	last_secure_at, cycles, last_cycle_at, version, created_at, updated_at`

// roleReturned is what a compare-and-set Update returns: the columns it
// does not take from its argument, so the server formats and the client
// scans 5 columns per transition instead of 20 (docs/database.md).
const roleReturned = `cycles, last_cycle_at, version, created_at, updated_at`

// roleSet is the SET list of a compare-and-set Update, in the argument
// order of RoleState.updateArgs.
const roleSet = `state = ?, local_nonce = ?, peer_nonce = ?, local_reference = ?,
	peer_reference = ?, exchange_count = ?, finalize_retry_count = ?, peer_address = ?,
	peer_sign_pub = ?, peer_kx_pub = ?, hs_derived_at = ?, last_secure_at = ?,
	version = version + 1, updated_at = ?`

// queries holds every statement, written with ? and rebound once for the
// dialect at Open. Both dialects support ON CONFLICT and RETURNING.
type queries struct {
	getRole, listRoles, insertRole, updateRole, roleExists, bumpCycles string

	// updateRecordingNonce is PostgreSQL only; SQLite runs updateRole and
	// recordNonce in one transaction instead.
	updateRecordingNonce, updateNonceOutcome string

	recordNonce, nonceExists, deletePairNonces, deleteOldNonces string

	pruneHSNonces, pruneOwnHSNonces string // hsnonceprune.go

	upsertAgent, touchAgent, getAgent string

	deleteAgentNonces, deleteAgentRoles, deleteAgent string

	summaryTotals, summaryPeers string

	deleteUnusedRole string // rowgc.go
}

func buildQueries(dialect string, rebind func(string) string) queries {
	q := queries{
		getRole:   `SELECT ` + roleCols + ` FROM role_state WHERE self_id = ? AND role = ? AND peer_id = ?`,
		listRoles: `SELECT ` + roleCols + ` FROM role_state WHERE self_id = ? ORDER BY role, peer_id`,
		insertRole: `INSERT INTO role_state (self_id, role, peer_id, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (self_id, role, peer_id) DO NOTHING
			RETURNING ` + roleCols,
		// cycles and last_cycle_at are not written here: BumpCycles owns
		// them (an atomic increment), so an Update from a stale read can
		// never undo a counted cycle.
		updateRole: `UPDATE role_state SET ` + roleSet + `
			WHERE self_id = ? AND role = ? AND peer_id = ? AND version = ?
			RETURNING ` + roleReturned,
		// One statement, one round trip, all or nothing: cur locks the row
		// if it is still at the expected version (under READ COMMITTED a
		// concurrent writer is waited for and the version re-checked), n
		// records the nonce only then, and the UPDATE runs only if n
		// inserted. ON CONFLICT makes a concurrent insert of the same nonce
		// wait for that transaction and then yield no row here.
		updateRecordingNonce: `WITH cur AS (
				SELECT 1 FROM role_state
				WHERE self_id = ? AND role = ? AND peer_id = ? AND version = ?
				FOR UPDATE
			), n AS (
				INSERT INTO nonce_event (self_id, role, peer_id, flow, nonce, created_at)
				SELECT CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS timestamptz)
				FROM cur
				ON CONFLICT (self_id, role, peer_id, flow, nonce) DO NOTHING
				RETURNING 1
			)
			UPDATE role_state SET ` + roleSet + `
			WHERE self_id = ? AND role = ? AND peer_id = ? AND version = ? AND EXISTS (SELECT 1 FROM n)
			RETURNING ` + roleReturned,
		// Why a conditional update changed nothing: version is NULL when
		// the row is gone.
		updateNonceOutcome: `SELECT (SELECT version FROM role_state WHERE self_id = ? AND role = ? AND peer_id = ?),
			CASE WHEN EXISTS (SELECT 1 FROM nonce_event
				WHERE self_id = ? AND role = ? AND peer_id = ? AND flow = ? AND nonce = ?) THEN 1 ELSE 0 END`,
		roleExists: `SELECT count(*) FROM role_state WHERE self_id = ? AND role = ? AND peer_id = ?`,
		// last_cycle_at never moves backwards, whatever order bumps land in.
		// verified_cycles and last_verified_at move only for a verified
		// cycle (the first two arguments: 1 or 0).
		bumpCycles: `UPDATE role_state SET cycles = cycles + 1,
			verified_cycles = verified_cycles + ?,
			last_verified_at = CASE WHEN ? = 1 AND (last_verified_at IS NULL OR last_verified_at < ?) THEN ? ELSE last_verified_at END,
			last_cycle_at = CASE WHEN last_cycle_at IS NULL OR last_cycle_at < ? THEN ? ELSE last_cycle_at END,
			updated_at = ?
			WHERE self_id = ? AND role = ? AND peer_id = ?
			RETURNING cycles`,

		recordNonce: `INSERT INTO nonce_event (self_id, role, peer_id, flow, nonce, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (self_id, role, peer_id, flow, nonce) DO NOTHING`,
		nonceExists: `SELECT count(*) FROM nonce_event
			WHERE self_id = ? AND role = ? AND peer_id = ? AND flow = ? AND nonce = ?`,
		deletePairNonces: `DELETE FROM nonce_event WHERE self_id = ? AND role = ? AND peer_id = ? AND flow <> 'hs'`,
		deleteOldNonces:  `DELETE FROM nonce_event WHERE created_at < ?`,
		pruneHSNonces:    hsPruneBatchSQL(dialect, ""),
		pruneOwnHSNonces: hsPruneBatchSQL(dialect, "self_id = ? AND "),

		upsertAgent: `INSERT INTO agents (self_id, name, namespace, sign_pub, kx_pub, software_version, started_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (self_id) DO UPDATE SET name = excluded.name, namespace = excluded.namespace,
				sign_pub = excluded.sign_pub, kx_pub = excluded.kx_pub,
				software_version = excluded.software_version, started_at = excluded.started_at,
				last_seen_at = excluded.last_seen_at`,
		touchAgent: `UPDATE agents SET last_seen_at = CASE WHEN last_seen_at < ? THEN ? ELSE last_seen_at END
			WHERE self_id = ?`,
		getAgent: `SELECT self_id, name, namespace, sign_pub, kx_pub, software_version, started_at, last_seen_at
			FROM agents WHERE self_id = ?`,

		deleteAgentNonces: `DELETE FROM nonce_event WHERE self_id = ? OR peer_id = ?`,
		deleteAgentRoles:  `DELETE FROM role_state WHERE self_id = ? OR peer_id = ?`,
		deleteAgent:       `DELETE FROM agents WHERE self_id = ?`,

		deleteUnusedRole: `DELETE FROM role_state
			WHERE self_id = ? AND role = ? AND peer_id = ? AND cycles = 0 AND version = ?`,

		// Group then count: a hash aggregate, cheaper than count(DISTINCT)'s sort.
		summaryTotals: `SELECT count(*), COALESCE(sum(cycles), 0), max(last_cycle_at)
			FROM (SELECT sum(cycles) AS cycles, max(last_cycle_at) AS last_cycle_at
				FROM role_state WHERE self_id = ? GROUP BY peer_id) per_peer`,
		// Secure means an authenticated key exchange (hs) completed for the
		// pair at least once.
		// Pick the page from role_state alone (the index gives this order,
		// so only limit rows are read), then look up names for just those.
		// updated_at is deliberately not a sort key: indexing it would make
		// every state transition a non-HOT update.
		summaryPeers: `SELECT rs.peer_id, COALESCE(a.name, ''), rs.role, rs.state, rs.cycles, rs.last_cycle_at,
				CASE WHEN rs.hs_derived_at IS NULL THEN 0 ELSE 1 END
			FROM (SELECT peer_id, role, state, cycles, last_cycle_at, hs_derived_at FROM role_state
				WHERE self_id = ?
				ORDER BY last_cycle_at DESC NULLS LAST, peer_id, role
				LIMIT ?) rs
			LEFT JOIN agents a ON a.self_id = rs.peer_id
			ORDER BY rs.last_cycle_at DESC NULLS LAST, rs.peer_id, rs.role`,
	}
	for _, p := range []*string{
		&q.getRole, &q.listRoles, &q.insertRole, &q.updateRole, &q.roleExists, &q.bumpCycles,
		&q.updateRecordingNonce, &q.updateNonceOutcome,
		&q.recordNonce, &q.nonceExists, &q.deletePairNonces, &q.deleteOldNonces,
		&q.pruneHSNonces, &q.pruneOwnHSNonces,
		&q.upsertAgent, &q.touchAgent, &q.getAgent,
		&q.deleteAgentNonces, &q.deleteAgentRoles, &q.deleteAgent,
		&q.summaryTotals, &q.summaryPeers, &q.deleteUnusedRole,
	} {
		*p = rebind(*p)
	}
	return q
}

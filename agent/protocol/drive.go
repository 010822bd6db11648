package protocol

// drive is the reference's send drivers for the current state: it brings
// the row to what it sends (a fresh nonce or reference when it has none) and
// queues the message. It runs right after an accepted message and again on
// each retry tick, so a re-send repeats the same nonce and reference.
func (m Machine) drive(res *Result, env Env) {
	r := &res.Row
	switch r.State {
	case StateRespConfirm:
		m.ensureNonce(res, env)
		res.Out = append(res.Out, Out{Intent: IntentConfirm, MyNonce: r.LocalNonce, HSType: "response"})
	case StateRespExchange:
		if r.PeerNonce == "" {
			return
		}
		m.ensureNonce(res, env)
		res.Out = append(res.Out, Out{Intent: IntentRespond, YourNonce: r.PeerNonce, MyNonce: r.LocalNonce, Text: ResponderText})
	case StateRespFinalize:
		if r.PeerRef == "" {
			return
		}
		m.ensureRef(res, env)
		res.Out = append(res.Out, Out{Intent: IntentFinish, YourRef: r.PeerRef, MyRef: r.LocalRef, MACKey: res.Mem.FinKey})
	case StateInitExchange:
		if r.PeerNonce == "" {
			return
		}
		// The count includes re-sends, as in the reference (spec §3.4).
		r.ExchangeCount++
		res.Write = true
		m.ensureNonce(res, env)
		o := Out{Intent: IntentRequest, YourNonce: r.PeerNonce, MyNonce: r.LocalNonce, Text: InitiatorText}
		if res.Mem.HSOnRequest {
			o.HSType = "init"
		}
		res.Out = append(res.Out, o)
	case StateInitPropose:
		if r.PeerNonce == "" {
			return
		}
		r.FinalizeRetryCount++
		res.Write = true
		m.ensureRef(res, env)
		res.Out = append(res.Out, Out{Intent: IntentConclude, YourNonce: r.PeerNonce, MyRef: r.LocalRef, MACKey: res.Mem.FinKey})
	case StateInitClose:
		if r.PeerRef == "" {
			return
		}
		if r.LocalRef != "" && r.FinalizeRetryCount <= InitFinalLimit {
			r.FinalizeRetryCount++
			res.Write = true
			res.Out = append(res.Out, m.closeOut(res))
		}
	case StateInitReady:
		if r.PeerRef == "" {
			return
		}
		// The closes after a finish are counted in RAM (Mem.ClosesSent),
		// not in the row: persisting each re-send cost ~2.8 commits per
		// cycle, and what a restart forgets is only that a few closes
		// went out already, so it sends up to InitFinalLimit+1 more,
		// which the responder ignores once it has moved on. A row the
		// closes were used up for (closeToReady) keeps its count.
		if r.LocalRef != "" && r.FinalizeRetryCount <= InitFinalLimit && res.Mem.ClosesSent <= InitFinalLimit {
			res.Mem.ClosesSent++
			res.Out = append(res.Out, m.closeOut(res))
		}
		res.Out = append(res.Out, Out{Intent: IntentReconnect, YourRef: r.PeerRef, MACKey: res.Mem.ResumeKey})
	}
}

func (m Machine) closeOut(res *Result) Out {
	r := &res.Row
	return Out{Intent: IntentClose, YourRef: r.PeerRef, MyRef: r.LocalRef, MACKey: res.Mem.macKey()}
}

func (m Machine) ensureNonce(res *Result, env Env) {
	if res.Row.LocalNonce == "" {
		res.Row.LocalNonce = env.NewNonce()
		res.RecordSent = res.Row.LocalNonce
		res.Write = true
		if RoleOfState(res.Row.State) == Responder {
			res.Mem.CycleNonces = append(res.Mem.CycleNonces, res.Row.LocalNonce)
		}
	}
}

func (m Machine) ensureRef(res *Result, env Env) {
	if res.Row.LocalRef == "" {
		res.Row.LocalRef = env.NewRef()
		res.Write = true
	}
}

// Retry re-sends what the current state is waiting on an answer to.
func (m Machine) Retry(row Row, mem Mem, env Env) Result {
	res := Result{Row: row, Mem: mem}
	if row.State == StateInitClose && row.FinalizeRetryCount > InitFinalLimit {
		// The tick driver's direct write to init_ready (spec §3.4).
		m.closeToReady(&res, env)
		return res
	}
	m.drive(&res, env)
	return res
}

// WaitsForPeer reports whether the state expects an answer, so the runner
// runs the retry timer and the state timeout.
func WaitsForPeer(row Row) bool {
	switch row.State {
	case StateInitReady:
		return row.PeerRef != ""
	case StateRespReady:
		return row.LocalRef != ""
	}
	return true
}

// Timeout recovers a conversation that made no progress for the state
// timeout. Each step stays wire-compatible with a stuck Python peer (spec
// §6.1). A cycle given up also drops its nonce log, which nothing would
// clear otherwise.
func (m Machine) Timeout(row Row, mem Mem, env Env) Result {
	res := Result{Row: row, Mem: mem}
	res.note("state timeout", "state", row.State)
	r := &res.Row
	switch r.State {
	case StateInitExchange:
		// Conclude with the responder's latest my_nonce: a responder
		// stuck in resp_exchange accepts it and finalizes.
		if n := mem.LatestRespondNonce; n != "" {
			r.PeerNonce = n
		}
		r.LocalNonce = ""
		r.FinalizeRetryCount = 0
		m.accept(&res, StateInitPropose, env)
	case StateInitClose:
		// As finish_to_idle: keep both references for reconnect.
		m.closeToReady(&res, env)
	case StateInitReady:
		// An unanswered reconnect keeps the references: a Python
		// responder keeps its reference forever and answers nothing but
		// reconnect (§3.5, §3.6), so forgetting ours would end the pair
		// for good after a long outage. Reconnect goes on at the capped
		// retry backoff; a Go responder expires its own token and answers
		// register, whose confirm any init_ready accepts.
	case StateInitPropose:
		if !mem.PeerBinds {
			// A legacy (Python) responder has no timeout in resp_exchange
			// and waits for a conclude echoing its nonce forever: wiping
			// here would strand it (issue 12 item 7, stall B). Keep
			// re-sending conclude at the capped retry backoff until its
			// finish, or a new confirm (restartOnConfirm) if it started
			// over; a Go responder that gave up answers our register.
			res.note("conclude kept for a legacy responder", "peer_nonce", r.PeerNonce)
			break
		}
		// Give up the cycle: the responder, once it gives up too, answers
		// our register with confirm.
		r.wipe()
		res.Mem.endCycle()
		r.State = StateInitReady
		res.Write, res.Progress = true, true
		res.DeletePairNonces = true
	default: // every responder state
		// A legacy initiator may still conclude the cycle given up here.
		res.Mem.Tombstone = tombstoneFor(row, mem, env, m.stateTimeout())
		r.wipe()
		res.Mem.endCycle()
		r.State = StateRespReady
		res.Write, res.Progress = true, true
		res.DeletePairNonces = true
	}
	return res
}

// Resume fixes up a row loaded at start-up. Keys died with the previous
// process, so the ping-pong cannot go on; finalize steps, which carry no
// crypto, can. An exchange is therefore cut to finalize as on its timeout
// (§6.1): a Python responder has no timeout in resp_exchange and would
// wait for our conclude forever. A responder in resp_exchange keeps its
// nonce for the same conclude (its own timeout still bounds the wait); in
// resp_confirm it needs the lost key for the first request's hs, so it
// starts over.
func (m Machine) Resume(role Role, row Row, mem Mem) Result {
	res := Result{Row: row, Mem: mem}
	if !row.State.ValidFor(role) {
		res.Row.wipe()
		res.Row.State = DefaultState(role)
		res.Write = true
		return res
	}
	switch row.State {
	case StateInitExchange:
		if row.PeerNonce == "" {
			res.Row.wipe()
			res.Row.State = StateInitReady
			res.Write, res.DeletePairNonces = true, true
			break
		}
		// The retry driver sends conclude with the stored peer_nonce.
		res.Row.State = StateInitPropose
		res.Mem.InheritedRequest = row.LocalNonce
		res.Row.LocalNonce = ""
		res.Row.FinalizeRetryCount = 0
		res.Write = true
	case StateRespConfirm:
		res.Row.wipe()
		res.Row.State = StateRespReady
		res.Write, res.DeletePairNonces = true, true
	}
	return res
}

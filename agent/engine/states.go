package engine

// Role is one side of a conversation; the values match role_state.role.
type Role string

const (
	Initiator Role = "initiator"
	Responder Role = "responder"
)

// State names, exactly as the reference stores them in role_state.state.
const (
	StateInitReady    = "init_ready"
	StateInitExchange = "init_exchange"
	StateInitPropose  = "init_finalize_propose"
	StateInitClose    = "init_finalize_close"

	StateRespReady    = "resp_ready"
	StateRespConfirm  = "resp_confirm"
	StateRespExchange = "resp_exchange"
	StateRespFinalize = "resp_finalize"
)

// Intents of the message catalogue (spec §3.4).
const (
	IntentRegister  = "register"
	IntentReconnect = "reconnect"
	IntentConfirm   = "confirm"
	IntentRequest   = "request"
	IntentRespond   = "respond"
	IntentConclude  = "conclude"
	IntentFinish    = "finish"
	IntentClose     = "close"
)

// Fixed message texts of the reference agents.
const (
	InitiatorText = "How are you?"
	ResponderText = "I am OK!"
)

// Counter limits of spec §3.6.
const (
	DefaultExchangeLimit = 3 // EXCHANGE_LIMIT
	InitFinalLimit       = 3 // INIT_FINAL_LIMIT: closes are sent while the retry count is at most this
	RespFinalLimit       = 5 // RESP_FINAL_LIMIT: unrelated messages tolerated in resp_finalize
	// RespMaxExchanges caps the requests a responder accepts in one cycle
	// (not in the reference). An honest initiator cuts once its count,
	// re-sends included, passes the exchange limit; 16 leaves room for
	// loss and for a peer with a higher limit.
	RespMaxExchanges = 16
	// StrangerMaxExchanges is the cap for a peer that never completed a
	// cycle with us: twice the exchange limit, so a keyless slot hog
	// gives its slot up in a few hundred milliseconds.
	StrangerMaxExchanges = 2 * DefaultExchangeLimit
)

// DefaultState is the state a new row starts in.
func DefaultState(r Role) string {
	if r == Initiator {
		return StateInitReady
	}
	return StateRespReady
}

// RoleFor tells which of our roles handles an inbound intent. register goes
// to the responder (it starts a cycle there); unknown intents go nowhere.
func RoleFor(intent string) (Role, bool) {
	switch intent {
	case IntentRegister, IntentReconnect, IntentRequest, IntentConclude, IntentClose:
		return Responder, true
	case IntentConfirm, IntentRespond, IntentFinish:
		return Initiator, true
	}
	return "", false
}

// RoleOfState is the role a state belongs to ("" for an unknown state).
func RoleOfState(state string) Role {
	switch state {
	case StateInitReady, StateInitExchange, StateInitPropose, StateInitClose:
		return Initiator
	case StateRespReady, StateRespConfirm, StateRespExchange, StateRespFinalize:
		return Responder
	}
	return ""
}

func isReadyState(state string) bool {
	return state == StateInitReady || state == StateRespReady
}

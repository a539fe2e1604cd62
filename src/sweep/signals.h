#pragma once
// Graceful stop: SIGTERM (scheduler time limit), SIGUSR1 (e.g. Slurm
// --signal=B:USR1@120, which mpirun forwards to every rank) and SIGINT only
// set a flag; the sweep finishes or abandons the unit in progress, then
// throws ldmg::Interrupted and exits with kResumeExitCode.
namespace ldmg::sweep {

// EX_TEMPFAIL (sysexits.h): "resume me". The sweep stopped on request and
// re-running the same command continues from the ledger.
inline constexpr int kResumeExitCode = 75;

// Installs the handlers (sigaction, SA_RESTART); idempotent. A second SIGINT
// after the first restores the default action and re-raises it, so a second
// Ctrl-C stops at once.
void install_stop_handlers();
// Whether a stop signal arrived since install_stop_handlers() / clear_stop_request().
bool stop_requested();
// The first stop signal received, or 0.
int stop_signal();
// Forgets a received signal (tests; a resumed loop).
void clear_stop_request();
// "SIGTERM", "SIGUSR1", "SIGINT", ..., or "signal N".
const char* signal_name(int sig);

}  // namespace ldmg::sweep

#pragma once
// A GoogleTest main for tests run under mpiexec: MPI is initialised around
// RUN_ALL_TESTS, every rank runs every test (so collectives line up), rank 0
// reports, the other ranks print only their failed assertions, and the exit
// status is 0 only if every rank passed.
#include "sweep/mpi_env.h"

namespace ldmg::testing_mpi {

// The environment main() created (valid while tests run).
const sweep::MpiEnv& env();

}  // namespace ldmg::testing_mpi

// Package dashboard serves a local, interactive view of a results database,
// in the spirit of MLflow's UI and optuna-dashboard: what the static reports
// show, but browsable while a sweep is still writing.
//
// Pages (HTML from templates/, scripts and styles from static/, all embedded
// with go:embed; charts drawn by the vendored Chart.js, so nothing is
// fetched at run time):
//
//   - / (runs): the experiments, the live status of running sweeps
//     (progress, ETA, failures), and the experiment's configurations with a
//     dot per seed, so that a bimodal configuration is seen at a glance;
//   - /cost: test rSum against interactions, query latency and index size,
//     a point per run, with the Pareto front; hovering names the run,
//     clicking two runs shows how their configs differ;
//   - /curves: training loss and validation rSum of each configuration,
//     the mean over seeds with a band from the lowest to the highest seed,
//     and the end of the InfoNCE warm-up and the learning rate decay marked;
//   - /drill: from the stored per-query ranks, the test queries one run
//     wins over another, with the captions and, for image data sets, the
//     thumbnails.
//
// The pages draw what the JSON endpoints under /api/ return (experiments,
// runs, cost, diff, curves, drill, status, thumb); the endpoints are the
// tested interface.
//
// The database is only read: the caller opens it with store.OpenReadOnly,
// and every request reads in one store.Snapshot, so it sees each run wholly
// or not at all while sweeps keep writing, and never blocks them.
package dashboard

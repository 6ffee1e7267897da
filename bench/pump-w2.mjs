// W2 csv-window for the pump: bspump.analyzer.TimeWindowAnalyzer counting events and summing bytes
// per user in 60 s tumbling windows of event time. Loaded by pump.mjs once the analyzer is on main.

/** The analyzer, with `benchCheck()` giving the totals over every closed window (compared across systems). */
export function makeWindowAnalyzer(bspump, app, pipeline) {
  const totals = { windows: 0, count: 0, sum: 0 };
  const analyzer = new bspump.analyzer.TimeWindowAnalyzer(app, pipeline, {
    id: "UserWindow",
    config: {
      resolution: 60,
      columns: 15,
      timestamp_attr: "ts",
      dimension_attr: "user",
      value_attr: "bytes",
      aggregations: "count,sum",
      lateness: 5,
      max_future: 3600,
      emit: "columns",
    },
    // Each closed window arrives as one event with every user's count and sum, in arrays.
    sink: (result) => {
      const { count, sum } = result;
      for (let i = 0; i < count.length; i++) {
        if (!(count[i] > 0)) continue;
        totals.windows++;
        totals.count += count[i];
        totals.sum += sum[i];
      }
    },
  });
  analyzer.benchCheck = () => ({ ...totals, late: (analyzer.late ?? 0) + (analyzer.future ?? 0) });
  return analyzer;
}

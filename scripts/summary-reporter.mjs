// Vitest reporter that ends the run with the plain line CI reads: `N passed, N failed, N skipped`.
// A file that failed outside its tests (an import error, a failing beforeAll/afterAll hook) counts
// as one failure, and so does every unhandled error, so the line never says 0 failed when vitest
// exits non-zero.
export default class SummaryReporter {
  onTestRunEnd(testModules, unhandledErrors = []) {
    let passed = 0, failed = 0, skipped = 0;
    for (const mod of testModules) {
      let failedHere = 0;
      for (const t of mod.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failedHere++;
        else skipped++;
      }
      if (mod.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

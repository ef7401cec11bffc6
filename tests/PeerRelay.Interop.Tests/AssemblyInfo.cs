// Chromium and aiortc are heavy on a 2-core machine: run the interop tests one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

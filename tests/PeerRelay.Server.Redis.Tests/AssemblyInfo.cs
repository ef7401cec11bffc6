// Each test runs a redis-server and several relay processes: one test class at a time on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace PeerRelay.Logging;

/// <summary>
/// Writes log entries to <c>log_dir</c>, one file per ISO week (<see cref="WeeklyLogFile"/>), so files rotate weekly
/// as the reference relay's do. Loggers only enqueue; one background thread formats and writes, so a slow disk never
/// slows the relay. When the queue is full an entry is dropped and counted, and the count is written to the file
/// as soon as there is room again.
/// </summary>
[ProviderAlias("File")]
internal sealed class WeeklyFileLoggerProvider : ILoggerProvider
{
    /// <summary>How many entries may wait for the writer before new ones are dropped (and counted).</summary>
    public const int QueueCapacity = 16 * 1024;

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(3);

    private readonly BlockingCollection<Entry> _queue = new(QueueCapacity);
    private readonly string _directory;
    private readonly TimeProvider _timeProvider;
    private readonly Thread _writer;
    private long _dropped;
    private string? _currentPath;
    private StreamWriter? _file;

    /// <summary>Initializes a new instance of the <see cref="WeeklyFileLoggerProvider"/> class and creates the directory.</summary>
    /// <param name="directory">The log directory.</param>
    /// <param name="timeProvider">The clock that stamps entries and picks the week.</param>
    /// <param name="json">Whether lines are JSON objects (<c>log_format = "json"</c>).</param>
    public WeeklyFileLoggerProvider(string directory, TimeProvider timeProvider, bool json = false)
    {
        Json = json;
        _directory = Path.GetFullPath(directory);
        _timeProvider = timeProvider;
        Directory.CreateDirectory(_directory);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "PeerRelay log file writer" };
        _writer.Start();
    }

    /// <summary>Gets a value indicating whether lines are JSON objects.</summary>
    public bool Json { get; }

    /// <summary>Gets the number of entries dropped because the queue was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Gets the full path of the log directory.</summary>
    public string LogDirectory => _directory;

    public ILogger CreateLogger(string categoryName) => new WeeklyFileLogger(categoryName, this);

    /// <summary>Queues one entry for the writer; drops and counts it when the queue is full or closed.</summary>
    /// <param name="level">The level.</param>
    /// <param name="category">The category.</param>
    /// <param name="eventId">The event id.</param>
    /// <param name="message">The formatted message.</param>
    /// <param name="exception">The exception, if any.</param>
    /// <param name="fields">The message's named values (JSON lines only), or null.</param>
    public void Enqueue(LogLevel level, string category, EventId eventId, string message, Exception? exception, KeyValuePair<string, object?>[]? fields)
    {
        var entry = new Entry(_timeProvider.GetUtcNow(), level, category, eventId, message, exception, fields);
        bool added;
        try
        {
            added = _queue.TryAdd(entry);
        }
        catch (InvalidOperationException)
        {
            added = false; // completed: the host is shutting down.
        }

        if (!added)
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Writes what is queued, closes the file and stops the writer (waiting at most a few seconds).</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        _writer.Join(DrainTimeout);
        _queue.Dispose();
    }

    private void WriteLoop()
    {
        var line = new StringBuilder(256);
        long reportedDrops = 0;
        try
        {
            foreach (var entry in _queue.GetConsumingEnumerable())
            {
                line.Clear();
                var dropped = Interlocked.Read(ref _dropped);
                if (dropped != reportedDrops)
                {
                    Append(line, new Entry(entry.Timestamp, LogLevel.Warning, typeof(WeeklyFileLoggerProvider).FullName!, default,
                        $"{dropped - reportedDrops} log entries were dropped because the log file writer fell behind", null, null));
                    reportedDrops = dropped;
                }

                Append(line, entry);
                Write(entry.Timestamp, line);
                if (_queue.Count == 0)
                {
                    _file?.Flush();
                }
            }
        }
        finally
        {
            _file?.Dispose();
            _file = null;
        }
    }

    private void Append(StringBuilder line, in Entry entry)
    {
        if (Json)
        {
            LogLineFormatter.AppendJson(line, entry.Timestamp, entry.Level, entry.Category, entry.EventId, entry.Message, entry.Exception, entry.Fields);
        }
        else
        {
            LogLineFormatter.Append(line, entry.Timestamp, entry.Level, entry.Category, entry.Message, entry.Exception);
        }
    }

    private void Write(DateTimeOffset timestamp, StringBuilder line)
    {
        var path = Path.Combine(_directory, WeeklyLogFile.NameFor(timestamp));
        try
        {
            if (!string.Equals(path, _currentPath, StringComparison.Ordinal))
            {
                _file?.Dispose();
                _file = null;
                _currentPath = path;
                _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
            }

            _file!.Write(line);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The disk or directory went away: count the entry as dropped and try the file again on the next entry.
            Interlocked.Increment(ref _dropped);
            _file?.Dispose();
            _file = null;
            _currentPath = null;
        }
    }

    private readonly record struct Entry(
        DateTimeOffset Timestamp, LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception, KeyValuePair<string, object?>[]? Fields);
}

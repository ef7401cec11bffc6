using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PeerRelay.Configuration;

namespace PeerRelay.Logging;

/// <summary>
/// The log line formats of the console and the files. Text (the default):
/// <c>2026-11-25 21:51:14.123 INFO [Category] message</c>, the exception on the lines below. JSON
/// (<c>log_format = "json"</c>): one object per line with stable field names, <c>time</c>, <c>level</c>,
/// <c>category</c>, <c>event_id</c>, <c>event</c>, <c>message</c>, <c>fields</c> (the message's named values) and
/// <c>exception</c> when there is one. Level names are the reference relay's (DEBUG, INFO, WARNING, ERROR, CRITICAL);
/// times are UTC.
/// </summary>
internal static class LogLineFormatter
{
    /// <summary>Appends one formatted entry, with its line ending, to <paramref name="output"/>.</summary>
    /// <param name="output">The buffer.</param>
    /// <param name="timestamp">When it was logged.</param>
    /// <param name="level">The level.</param>
    /// <param name="category">The logger category.</param>
    /// <param name="message">The formatted message.</param>
    /// <param name="exception">The exception, if any.</param>
    public static void Append(StringBuilder output, DateTimeOffset timestamp, LogLevel level, string category, string message, Exception? exception)
    {
        output.Append(timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))
            .Append(' ')
            .Append(LogLevelNames.ToName(level))
            .Append(" [")
            .Append(category)
            .Append("] ")
            .Append(message)
            .Append('\n');
        if (exception is not null)
        {
            output.Append(exception).Append('\n');
        }
    }

    /// <summary>Appends one entry as a JSON object on one line (see the class summary for the fields).</summary>
    /// <param name="output">The buffer.</param>
    /// <param name="timestamp">When it was logged.</param>
    /// <param name="level">The level.</param>
    /// <param name="category">The logger category.</param>
    /// <param name="eventId">The event id and name.</param>
    /// <param name="message">The formatted message.</param>
    /// <param name="exception">The exception, if any.</param>
    /// <param name="fields">The message's named values (from its template), or null.</param>
    public static void AppendJson(
        StringBuilder output,
        DateTimeOffset timestamp,
        LogLevel level,
        string category,
        EventId eventId,
        string message,
        Exception? exception,
        IReadOnlyList<KeyValuePair<string, object?>>? fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (message.Length * 2));
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("time", timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("level", LogLevelNames.ToName(level));
            json.WriteString("category", category);
            json.WriteNumber("event_id", eventId.Id);
            if (!string.IsNullOrEmpty(eventId.Name))
            {
                json.WriteString("event", eventId.Name);
            }

            json.WriteString("message", message);
            if (fields is { Count: > 0 })
            {
                json.WriteStartObject("fields");
                foreach (var (key, value) in fields)
                {
                    if (key == "{OriginalFormat}")
                    {
                        continue;
                    }

                    switch (value)
                    {
                        case null:
                            json.WriteNull(key);
                            break;
                        case bool flag:
                            json.WriteBoolean(key, flag);
                            break;
                        case int or long or short or byte or uint or ulong or ushort:
                            json.WriteNumber(key, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                            break;
                        case double or float or decimal:
                            json.WriteNumber(key, Convert.ToDouble(value, CultureInfo.InvariantCulture));
                            break;
                        default:
                            json.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                            break;
                    }
                }

                json.WriteEndObject();
            }

            if (exception is not null)
            {
                json.WriteString("exception", exception.ToString());
            }

            json.WriteEndObject();
        }

        output.Append(Encoding.UTF8.GetString(buffer.WrittenSpan)).Append('\n');
    }

    /// <summary>Reads the named values of a log message's state (what <c>[LoggerMessage]</c> methods log).</summary>
    /// <param name="state">The state passed to <c>ILogger.Log</c>.</param>
    /// <returns>A copy of the values, or null when the state has none.</returns>
    public static KeyValuePair<string, object?>[]? FieldsOf<TState>(TState state) =>
        state is IReadOnlyList<KeyValuePair<string, object?>> { Count: > 1 } values ? [.. values] : null;

    // Non-ASCII text stays readable; what must be escaped in JSON still is.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

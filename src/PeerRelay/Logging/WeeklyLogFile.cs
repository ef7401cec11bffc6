using System.Globalization;

namespace PeerRelay.Logging;

/// <summary>Names the log file of a week: <c>peerrelay-2026-W48.log</c>, by ISO 8601 week (Monday to Sunday, UTC).</summary>
internal static class WeeklyLogFile
{
    /// <summary>Gets the file name for the week holding <paramref name="timestamp"/>.</summary>
    /// <param name="timestamp">A moment in the week.</param>
    /// <returns>The file name, without directory.</returns>
    public static string NameFor(DateTimeOffset timestamp)
    {
        var day = timestamp.UtcDateTime;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"peerrelay-{ISOWeek.GetYear(day):0000}-W{ISOWeek.GetWeekOfYear(day):00}.log");
    }
}

namespace PeerRelay.Configuration;

/// <summary>A value under one key cannot be used; the message names the key, the value and what is allowed.</summary>
/// <param name="message">One line: <c>key: value is not allowed; use ...</c>.</param>
internal sealed class ConfigValueException(string message) : Exception(message);

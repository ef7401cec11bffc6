using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Authentication.Internal;

/// <summary>Reports every problem an options class finds in itself, so start-up fails with all of them at once.</summary>
internal sealed class ProblemsValidator<T>(Func<T, IReadOnlyList<string>> validate) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var problems = validate(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

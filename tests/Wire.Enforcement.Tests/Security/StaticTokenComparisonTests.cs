using System.Reflection;
using System.Reflection.Emit;
using System.Security.Cryptography;
using System.Text;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Recording;

namespace Wire.Enforcement.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md): a presented static token is compared in constant time. Timing itself is too
/// noisy to test, so the claim is checked where it is made: the validation path's IL calls
/// <see cref="CryptographicOperations.FixedTimeEquals"/> and none of the early-exit comparisons (string or span
/// equality, dictionary lookups); what is compared are SHA-256 digests of equal length, so neither the length nor a
/// shared prefix of a guess matters; and the validator keeps no copy of any token, only digests.
/// </summary>
public sealed class StaticTokenComparisonTests
{
    private static readonly string[] ForbiddenComparisons =
    [
        "System.String::Equals", "System.String::op_Equality", "System.String::op_Inequality", "System.String::CompareOrdinal", "System.String::Compare",
        "System.String::StartsWith", "System.MemoryExtensions::SequenceEqual", "System.MemoryExtensions::StartsWith",
        "System.MemoryExtensions::SequenceCompareTo", "System.Linq.Enumerable::SequenceEqual", "Dictionary`2::TryGetValue",
        "Dictionary`2::ContainsKey", "Dictionary`2::get_Item", "HashSet`1::Contains", "FrozenDictionary`2::TryGetValue",
    ];

    [Fact]
    public void The_validation_path_compares_with_FixedTimeEquals_and_nothing_that_exits_early()
    {
        var type = typeof(StaticTokenValidator);
        var validate = type.GetMethod("Validate", BindingFlags.Instance | BindingFlags.NonPublic)!;
        var hash = type.GetMethod("HashToken", BindingFlags.Static | BindingFlags.NonPublic)!;
        var validateAsync = type.GetMethod(nameof(StaticTokenValidator.ValidateAsync))!;

        var called = Calls(validate);
        Assert.Contains("System.Security.Cryptography.CryptographicOperations::FixedTimeEquals", called);
        Assert.Contains(called, c => c.EndsWith("::HashToken", StringComparison.Ordinal));
        // ValidateAsync, the interface method every listener and the admin API call, goes through Validate.
        Assert.Contains(Calls(validateAsync), c => c.EndsWith("StaticTokenValidator::Validate", StringComparison.Ordinal));
        foreach (var method in new[] { validate, hash, validateAsync })
        {
            var early = Calls(method).Where(c => ForbiddenComparisons.Any(f => c.Contains(f, StringComparison.Ordinal))).ToList();
            Assert.True(early.Count == 0, $"{method.Name} calls {string.Join(", ", early)}");
        }
    }

    [Fact]
    public void The_scanner_of_this_test_sees_an_early_exit_comparison_where_there_is_one()
    {
        // The construction-time duplicate check compares digests with SequenceEqual (not client input): the IL reader finds it.
        var constructor = typeof(StaticTokenValidator).GetConstructors().Single();
        Assert.Contains(Calls(constructor), c => c.Contains("System.MemoryExtensions::SequenceEqual", StringComparison.Ordinal));
        // And the recording verifier, whose MAC check is the other secret comparison of this assembly, uses FixedTimeEquals.
        Assert.Contains(typeof(RecordingVerifier).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public).SelectMany(Calls),
            c => c == "System.Security.Cryptography.CryptographicOperations::FixedTimeEquals");
    }

    [Theory]
    [InlineData("k")]
    [InlineData("tok-prod-alice-7f3c9e")]
    [InlineData("tok-prod-alice-7f3c9")]
    [InlineData("tok-prod-alice-7f3c9e0")]
    [InlineData("tok-prod-alice-7f3c9E")]
    [InlineData("Tok-prod-alice-7f3c9e")]
    public void Guesses_that_share_a_prefix_or_a_length_with_a_token_are_refused_alike(string guess)
    {
        var validator = new StaticTokenValidator([new StaticToken("tok-prod-bob-00000000", "bob", []), new StaticToken("tok-prod-alice-7f3c9e", "alice", [])]);

        var result = validator.Validate(guess);

        Assert.Equal(guess == "tok-prod-alice-7f3c9e", result.Succeeded);
        Assert.Equal(result.Succeeded ? null : "unknown static token", result.FailureReason);
    }

    [Fact]
    public void Every_entry_is_compared_and_the_last_one_matches()
    {
        var tokens = Enumerable.Range(0, 50).Select(i => new StaticToken($"token-{i:D3}", $"subject-{i}", [])).ToList();
        var validator = new StaticTokenValidator(tokens);

        Assert.All(tokens, t => Assert.Equal(t.Subject, validator.Validate(t.Token).Identity?.Subject));
    }

    [Fact]
    public void The_validator_keeps_digests_not_tokens()
    {
        const string Token = "tok-kept-only-as-digest-5e1a";
        var validator = new StaticTokenValidator([new StaticToken(Token, "alice", ["eng"])]);
        byte[] utf8 = Encoding.UTF8.GetBytes(Token);

        var found = new List<string>();
        Walk(validator, "validator", found, utf8, Token, new HashSet<object>(ReferenceEqualityComparer.Instance));

        Assert.Empty(found);
        Assert.True(validator.Validate(Token).Succeeded);
    }

    /// <summary>Every string and byte array reachable from <paramref name="value"/> through fields that holds the token.</summary>
    private static void Walk(object? value, string path, List<string> found, byte[] utf8, string token, HashSet<object> seen)
    {
        if (value is null || value.GetType().IsPrimitive || value is Type || !seen.Add(value))
        {
            return;
        }
        switch (value)
        {
            case string text:
                if (text.Contains(token, StringComparison.Ordinal))
                {
                    found.Add(path);
                }
                return;
            case byte[] bytes:
                if (bytes.AsSpan().IndexOf(utf8) >= 0 || bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Convert.ToHexString(utf8))) >= 0)
                {
                    found.Add(path);
                }
                return;
            case System.Collections.IEnumerable items when value is not System.Collections.IDictionary:
                int i = 0;
                foreach (var item in items)
                {
                    Walk(item, $"{path}[{i++}]", found, utf8, token, seen);
                }
                return;
        }
        for (var type = value.GetType(); type is not null; type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Walk(field.GetValue(value), path + "." + field.Name, found, utf8, token, seen);
            }
        }
    }

    /// <summary>The methods (and constructors) <paramref name="method"/>'s IL calls, as <c>Declaring.Type::Name</c>, async bodies included.</summary>
    private static List<string> Calls(MethodBase method)
    {
        var calls = new List<string>();
        var body = method.GetMethodBody();
        if (body is null)
        {
            return calls;
        }
        byte[] il = body.GetILAsByteArray()!;
        for (int at = 0; at < il.Length;)
        {
            OpCode op;
            if (il[at] == 0xFE)
            {
                op = TwoByte[il[at + 1]];
                at += 2;
            }
            else
            {
                op = OneByte[il[at]];
                at += 1;
            }
            int size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
                _ => 4,
            };
            if (op.OperandType == OperandType.InlineMethod)
            {
                var callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, at),
                    method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null,
                    method.IsGenericMethod ? method.GetGenericArguments() : null)!;
                calls.Add($"{callee.DeclaringType}::{callee.Name}");
                // An async method's body is its state machine's MoveNext.
                if (callee.Name == "Start" && callee.DeclaringType?.Name.Contains("MethodBuilder", StringComparison.Ordinal) == true)
                {
                    calls.AddRange(method.GetCustomAttribute<System.Runtime.CompilerServices.AsyncStateMachineAttribute>()?.StateMachineType
                        .GetMethod("MoveNext", BindingFlags.Instance | BindingFlags.NonPublic) is { } moveNext ? Calls(moveNext) : []);
                }
            }
            at += size;
        }
        return calls;
    }

    private static readonly Dictionary<byte, OpCode> OneByte = OpCodesBy(two: false);

    private static readonly Dictionary<byte, OpCode> TwoByte = OpCodesBy(two: true);

    private static Dictionary<byte, OpCode> OpCodesBy(bool two) =>
        typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!)
            .Where(o => (o.Size == 2) == two).ToDictionary(o => (byte)(o.Value & 0xFF));
}

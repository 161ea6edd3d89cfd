using System.Globalization;
using System.Text;

namespace Wire.Gateway.Demo;

/// <summary>
/// Seeds the demo database: fake but realistic customers (names, emails, phones, SSNs, card numbers) and their
/// orders, generated deterministically so masking demos and tests see the same rows every run.
/// </summary>
internal static class DemoData
{
    /// <summary>The database <see cref="SeedAsync"/> creates.</summary>
    public const string DatabaseName = "demo";

    /// <summary>How many customers are seeded.</summary>
    public const int CustomerCount = 200;

    /// <summary>How many orders are seeded.</summary>
    public const int OrderCount = 1000;

    /// <summary>A printable description of the seeded tables.</summary>
    public const string Summary =
        """
        database demo
          public.customers (200 rows)
            id serial primary key, full_name text, email text unique, phone text, ssn text,
            card_number text, city text, created_at timestamptz
            sensitive: email, phone, ssn (ddd-dd-dddd), card_number (Luhn-valid Visa/Mastercard)
          public.orders (1000 rows)
            id serial primary key, customer_id int -> customers.id, amount numeric(10,2), status text,
            ordered_at timestamptz
        """;

    private const int Seed = 20240917;

    private static readonly string[] FirstNames =
    [
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
        "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
        "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret",
        "Steven", "Ashley", "Andrew", "Emily", "Kevin", "Michelle", "Brian", "Amanda", "Olivia", "Ethan",
    ];

    private static readonly string[] LastNames =
    [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    ];

    private static readonly (string City, string AreaCode)[] Cities =
    [
        ("New York", "212"), ("Los Angeles", "213"), ("Chicago", "312"), ("Houston", "713"), ("Phoenix", "602"),
        ("Philadelphia", "215"), ("San Antonio", "210"), ("San Diego", "619"), ("Dallas", "214"), ("Austin", "512"),
        ("Seattle", "206"), ("Denver", "303"), ("Boston", "617"), ("Atlanta", "404"), ("Miami", "305"),
        ("Portland", "503"), ("Las Vegas", "702"), ("Minneapolis", "612"), ("Nashville", "615"), ("San Francisco", "415"),
    ];

    private static readonly string[] Statuses = ["pending", "paid", "paid", "shipped", "delivered", "delivered", "refunded", "cancelled"];

    /// <summary>
    /// Creates (or resets) role <paramref name="ownerRole"/> with a SCRAM-SHA-256 password, database <c>demo</c> owned by
    /// it, and the seeded <c>customers</c> and <c>orders</c> tables owned by it. Safe to run again: the tables are rebuilt.
    /// </summary>
    public static async Task SeedAsync(LocalPostgresServer server, string ownerRole, string ownerPassword, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentException.ThrowIfNullOrEmpty(ownerRole);
        ArgumentNullException.ThrowIfNull(ownerPassword);

        var role = QuoteIdentifier(ownerRole);
        var password = QuoteLiteral(ownerPassword);
        var roleLiteral = QuoteLiteral(ownerRole);

        // CREATE DATABASE cannot run in a transaction or a DO block; \gexec runs it only when missing.
        var setup =
            $"""
            SET password_encryption = 'scram-sha-256';
            SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', {roleLiteral}, {password})
              WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {roleLiteral}) \gexec
            ALTER ROLE {role} LOGIN PASSWORD {password};
            SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''', '{DatabaseName}', {roleLiteral})
              WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DatabaseName}') \gexec
            ALTER DATABASE {DatabaseName} OWNER TO {role};
            GRANT ALL ON DATABASE {DatabaseName} TO {role};
            """;
        await server.PsqlAsync(setup, "postgres", ct).ConfigureAwait(false);
        await server.PsqlAsync(BuildSchemaAndRows(role), DatabaseName, ct).ConfigureAwait(false);
    }

    /// <summary>The seeding script for the demo database (deterministic for a given owner).</summary>
    internal static string BuildSchemaAndRows(string quotedOwnerRole)
    {
        var random = new Random(Seed);
        var sql = new StringBuilder(256 * 1024);
        sql.AppendLine("BEGIN;");
        sql.AppendLine("DROP TABLE IF EXISTS public.orders, public.customers;");
        sql.AppendLine(
            """
            CREATE TABLE public.customers (
                id serial PRIMARY KEY,
                full_name text NOT NULL,
                email text UNIQUE NOT NULL,
                phone text,
                ssn text NOT NULL,
                card_number text NOT NULL,
                city text,
                created_at timestamptz
            );
            CREATE TABLE public.orders (
                id serial PRIMARY KEY,
                customer_id int REFERENCES public.customers,
                amount numeric(10,2),
                status text,
                ordered_at timestamptz
            );
            """);

        var baseTime = new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var createdAt = new DateTimeOffset[CustomerCount];
        var names = PickDistinctNames(random);

        sql.AppendLine("INSERT INTO public.customers (full_name, email, phone, ssn, card_number, city, created_at) VALUES");
        for (var i = 0; i < CustomerCount; i++)
        {
            var (first, last) = names[i];
            var (city, areaCode) = Cities[random.Next(Cities.Length)];
            // 555-0100..555-0199 is reserved for fiction in every North American area code.
            var phone = random.Next(10) == 0 ? null : $"+1-{areaCode}-555-01{random.Next(100):D2}";
            createdAt[i] = baseTime.AddMinutes(random.Next(0, 365 * 24 * 60));

            var email = $"{first.ToLowerInvariant()}.{last.ToLowerInvariant()}@example.com";
            sql.Append(CultureInfo.InvariantCulture, $"  ({QuoteLiteral($"{first} {last}")}, {QuoteLiteral(email)}, ");
            sql.Append(phone is null ? "NULL" : QuoteLiteral(phone));
            sql.Append(CultureInfo.InvariantCulture,
                $", {QuoteLiteral(NextSsn(random))}, {QuoteLiteral(NextCardNumber(random))}, {QuoteLiteral(city)}, ");
            sql.Append(QuoteLiteral(FormatTimestamp(createdAt[i])));
            sql.AppendLine(i == CustomerCount - 1 ? ");" : "),");
        }

        sql.AppendLine("INSERT INTO public.orders (customer_id, amount, status, ordered_at) VALUES");
        for (var i = 0; i < OrderCount; i++)
        {
            var customer = random.Next(CustomerCount);
            var amount = random.Next(500, 100_000) / 100m;
            var orderedAt = createdAt[customer].AddMinutes(random.Next(10, 400 * 24 * 60));
            sql.Append(CultureInfo.InvariantCulture,
                $"  ({customer + 1}, {amount.ToString("0.00", CultureInfo.InvariantCulture)}, " +
                $"{QuoteLiteral(Statuses[random.Next(Statuses.Length)])}, {QuoteLiteral(FormatTimestamp(orderedAt))}");
            sql.AppendLine(i == OrderCount - 1 ? ");" : "),");
        }

        sql.AppendLine(CultureInfo.InvariantCulture, $"ALTER TABLE public.customers OWNER TO {quotedOwnerRole};");
        sql.AppendLine(CultureInfo.InvariantCulture, $"ALTER TABLE public.orders OWNER TO {quotedOwnerRole};");
        sql.AppendLine(CultureInfo.InvariantCulture, $"GRANT ALL ON SCHEMA public TO {quotedOwnerRole};");
        sql.AppendLine(CultureInfo.InvariantCulture, $"GRANT ALL ON ALL TABLES IN SCHEMA public TO {quotedOwnerRole};");
        sql.AppendLine(CultureInfo.InvariantCulture, $"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {quotedOwnerRole};");
        sql.AppendLine("ANALYZE public.customers;");
        sql.AppendLine("ANALYZE public.orders;");
        sql.AppendLine("COMMIT;");
        return sql.ToString();
    }

    /// <summary>True when <paramref name="digits"/> (spaces ignored) passes the Luhn check.</summary>
    internal static bool IsLuhnValid(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        var sum = 0;
        var count = 0;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var c = digits[i];
            if (c == ' ')
            {
                continue;
            }

            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            var d = c - '0';
            if (count++ % 2 == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        return count > 0 && sum % 10 == 0;
    }

    private static (string First, string Last)[] PickDistinctNames(Random random)
    {
        // Every first/last pair is distinct, so emails are unique; shuffle and take the first CustomerCount.
        var pairs = new (string, string)[FirstNames.Length * LastNames.Length];
        var n = 0;
        foreach (var first in FirstNames)
        {
            foreach (var last in LastNames)
            {
                pairs[n++] = (first, last);
            }
        }

        random.Shuffle(pairs);
        return pairs[..CustomerCount];
    }

    // Valid SSN shape: area 001-899 except 666, group 01-99, serial 0001-9999.
    private static string NextSsn(Random random)
    {
        int area;
        do
        {
            area = random.Next(1, 900);
        }
        while (area == 666);

        return string.Create(CultureInfo.InvariantCulture, $"{area:D3}-{random.Next(1, 100):D2}-{random.Next(1, 10_000):D4}");
    }

    // 16 digits, Visa (4) or Mastercard (51-55), last digit the Luhn check digit; grouped by 4 or plain.
    private static string NextCardNumber(Random random)
    {
        Span<char> digits = stackalloc char[16];
        var prefixLength = 1;
        if (random.Next(2) == 0)
        {
            digits[0] = '4';
        }
        else
        {
            digits[0] = '5';
            digits[1] = (char)('1' + random.Next(5));
            prefixLength = 2;
        }

        for (var i = prefixLength; i < 15; i++)
        {
            digits[i] = (char)('0' + random.Next(10));
        }

        digits[15] = LuhnCheckDigit(digits[..15]);
        if (random.Next(2) == 0)
        {
            return new string(digits);
        }

        return $"{digits[..4]} {digits[4..8]} {digits[8..12]} {digits[12..]}";
    }

    private static char LuhnCheckDigit(ReadOnlySpan<char> payload)
    {
        var sum = 0;
        for (var i = 0; i < payload.Length; i++)
        {
            var d = payload[payload.Length - 1 - i] - '0';
            // The check digit will sit right of the payload, so the payload's last digit is doubled.
            if (i % 2 == 0)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        return (char)('0' + ((10 - (sum % 10)) % 10));
    }

    private static string FormatTimestamp(DateTimeOffset value) =>
        value.ToString("yyyy-MM-dd HH:mm:ss'+00'", CultureInfo.InvariantCulture);

    private static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string QuoteLiteral(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}

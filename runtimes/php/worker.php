<?php
// Strato's PHP guest, second process: loads one function's handler and serves the invocations the
// host sends on fd 3 (frames, see src/runtime/protocol.ts), one at a time. Its fd 1 and fd 2 are
// the pump's socket (bootstrap.php), which counts the output; its frames go to the pump on fd 4,
// which adds `out`. The function's file is required at global scope, so its top-level variables
// are globals as in FunctionGraph; the guest keeps its own state in static properties.
declare(strict_types=1);

namespace Strato\Guest;

const MAX_ERROR_MESSAGE_CHARS = 16384;
const MAX_STACK_LINES = 50;
const LEVELS = ['DEBUG' => 10, 'INFO' => 20, 'WARN' => 30, 'WARNING' => 30, 'ERROR' => 40];

final class Guest
{
    /** @var resource */
    public static $control;
    /** @var resource */
    public static $toPump;
    public static string $codeRoot = '';
    /** 'boot' | 'load' | 'init' | 'serve' */
    public static string $phase = 'boot';
    /** The invocation running, if any (its frame header). */
    public static ?array $invocation = null;
    public static bool $answered = false;
    public static int $maxResultBytes = 6291456;

    public static function send(array $header, string $payload = ''): void
    {
        $h = json_encode($header, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        $data = pack('NN', strlen($h), strlen($payload)) . $h . $payload;
        while ($data !== '') {
            $n = @fwrite(self::$toPump, $data);
            if ($n === false || $n === 0) {
                exit(0);
            }
            $data = substr($data, $n);
        }
    }

    private static function readExact(int $n): string
    {
        $data = '';
        while (strlen($data) < $n) {
            $chunk = fread(self::$control, $n - strlen($data));
            if ($chunk === false || $chunk === '') {
                if (feof(self::$control)) {
                    // The host closed the socket: Strato stopped or dropped this instance.
                    exit(0);
                }
                continue;
            }
            $data .= $chunk;
        }
        return $data;
    }

    /** @return array{0: array, 1: string} */
    public static function receive(): array
    {
        ['h' => $hLen, 'p' => $pLen] = unpack('Nh/Np', self::readExact(8));
        $header = json_decode(self::readExact($hLen), true);
        $payload = $pLen > 0 ? self::readExact($pLen) : '';
        return [is_array($header) ? $header : [], $payload];
    }

    public static function memoryMb(): float
    {
        return (getrusage()['ru_maxrss'] ?? 0) / 1024.0;
    }

    /** Every shared extension the machine's PHP has, as its own php.ini would load them. */
    public static function loadExtensions(): void
    {
        $dir = (string) ini_get('extension_dir');
        $files = array_filter(
            glob($dir . '/*.so') ?: [],
            // opcache is a Zend extension (no dl()); readline is for interactive shells.
            fn (string $f): bool => !in_array(basename($f), ['opcache.so', 'readline.so'], true),
        );
        // Some need another loaded first (pdo_* after pdo): retry until nothing more loads.
        do {
            $progress = false;
            foreach ($files as $i => $file) {
                $name = basename($file, '.so');
                if (extension_loaded($name) || @dl(basename($file))) {
                    unset($files[$i]);
                    $progress = true;
                }
            }
        } while ($progress && $files !== []);
    }

    public static function specialise(array $env): void
    {
        foreach ($env as $key => $value) {
            putenv("{$key}={$value}");
            $_ENV[$key] = $value;
            $_SERVER[$key] = $value;
        }
        self::$codeRoot = (string) getenv('RUNTIME_CODE_ROOT');
        self::$maxResultBytes = (int) (getenv('RUNTIME_MAX_RESP_BODY_SIZE') ?: 6291456);
        // The Zend heap gets most of memory_size: a runaway allocation is a PHP error with a
        // message before the instance cgroup has to kill the process.
        $memoryMb = (int) getenv('RUNTIME_MEMORY');
        if ($memoryMb > 0) {
            ini_set('memory_limit', max(32, intdiv($memoryMb * 3, 4)) . 'M');
        }
        $paths = array_merge([self::$codeRoot], array_filter(explode(':', (string) getenv('PHP_INCLUDE_PATH'))));
        set_include_path(implode(PATH_SEPARATOR, array_merge($paths, [get_include_path()])));
        @chdir(self::$codeRoot); // a missing code root is reported by the handler's load
    }

    /** The file of a `path/to/file.fn` handler, or an ImportModuleError. */
    public static function moduleFile(string $spec, string $what): string
    {
        $dot = strrpos($spec, '.');
        $module = $dot === false ? '' : substr($spec, 0, $dot);
        $file = self::$codeRoot . '/' . $module . '.php';
        if ($module === '' || !is_file($file)) {
            throw new ImportModuleError(
                "Cannot find module '{$module}' for the {$what} '{$spec}' in " . self::$codeRoot,
            );
        }
        return $file;
    }

    public static function functionOf(string $spec, string $what): string
    {
        $dot = strrpos($spec, '.');
        $name = (string) substr($spec, $dot === false ? 0 : $dot + 1);
        if ($name === '' || !function_exists($name)) {
            $module = $dot === false ? $spec : substr($spec, 0, $dot);
            throw new HandlerNotFound("The {$what} '{$spec}' is not a function defined in {$module}.php");
        }
        return $name;
    }

    private static function clip(string $message): string
    {
        if (strlen($message) <= MAX_ERROR_MESSAGE_CHARS) {
            return $message;
        }
        // Characters, not bytes (mbstring may be absent); bytes when the text is not UTF-8.
        $head = preg_match('/^.{0,' . MAX_ERROR_MESSAGE_CHARS . '}/us', $message, $m) === 1
            ? $m[0]
            : substr($message, 0, MAX_ERROR_MESSAGE_CHARS);
        return strlen($head) === strlen($message) ? $message : $head . '… [truncated]';
    }

    public static function errorOf(\Throwable $e): array
    {
        $stack = array_merge(
            [$e->getFile() . '(' . $e->getLine() . ')'],
            explode("\n", $e->getTraceAsString()),
        );
        return [
            'errorMessage' => self::clip($e->getMessage()),
            'errorType' => $e instanceof GuestError ? (new \ReflectionClass($e))->getShortName() : get_class($e),
            'stackTrace' => array_slice($stack, 0, MAX_STACK_LINES),
        ];
    }

    /** What error_get_last() says of a fatal error, as error JSON; null if the last was not fatal. */
    public static function fatalError(): ?array
    {
        $last = error_get_last();
        $fatal = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR;
        if ($last === null || ($last['type'] & $fatal) === 0) {
            return null;
        }
        $memory = str_starts_with($last['message'], 'Allowed memory size of')
            || str_starts_with($last['message'], 'Out of memory');
        return [
            'errorMessage' => self::clip($last['message']),
            'errorType' => $memory ? 'OutOfMemoryError' : 'FatalError',
            'stackTrace' => [$last['file'] . '(' . $last['line'] . ')'],
        ];
    }

    /** Output the function left in its own buffers belongs to this invocation. */
    public static function flushBuffers(): void
    {
        while (ob_get_level() > 0) {
            if (!@ob_end_flush()) {
                break;
            }
        }
    }

    public static function invoke(array $header, string $payload, string $handler): void
    {
        try {
            $event = $payload === '' ? new \stdClass() : json_decode($payload, false, 4096, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            self::send(['t' => 'result', 'id' => $header['id'], 'badEvent' => true, 'message' => $e->getMessage()]);
            return;
        }
        self::send(['t' => 'begin', 'id' => $header['id']]);
        self::$invocation = $header;
        self::$answered = false;
        $context = new Context($header);
        try {
            $result = $handler($event, $context);
            if (is_string($result)) {
                [$text, $body] = [true, $result];
            } else {
                try {
                    $body = json_encode($result, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
                } catch (\JsonException $e) {
                    throw new ResultSerializationError('The function result cannot be serialised to JSON: ' . $e->getMessage());
                }
                $text = false;
            }
            if (strlen($body) > self::$maxResultBytes) {
                throw new ResponseTooLarge(
                    'The function result is ' . strlen($body) . ' bytes; the limit is ' . self::$maxResultBytes . '.',
                );
            }
            $reply = ['t' => 'result', 'id' => $header['id'], 'ok' => true, 'text' => $text];
        } catch (\Throwable $e) {
            $error = self::errorOf($e);
            $body = json_encode($error, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
            $reply = ['t' => 'result', 'id' => $header['id'], 'ok' => false, 'errorType' => $error['errorType']];
        }
        unset($result, $event);
        self::flushBuffers();
        $reply['mem'] = self::memoryMb();
        self::$answered = true;
        self::$invocation = null;
        self::send($reply, $body);
    }

    /** The worker is ending: a fatal error (or exit()) during loading or an invocation. */
    public static function onShutdown(): void
    {
        // A memory_limit fatal leaves no room to report it; the instance cgroup still rules.
        @ini_set('memory_limit', '-1');
        $fatal = self::fatalError();
        if (self::$phase === 'serve' && self::$invocation !== null && !self::$answered) {
            self::flushBuffers();
            if ($fatal !== null) {
                self::$answered = true;
                self::send(
                    [
                        't' => 'result',
                        'id' => self::$invocation['id'],
                        'ok' => false,
                        'errorType' => $fatal['errorType'],
                        'mem' => self::memoryMb(),
                        // PHP cannot go on after a fatal error: this process ends now.
                        'exiting' => true,
                    ],
                    (string) json_encode($fatal, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE),
                );
            }
            // Otherwise exit() ended the invocation: the pump sees the exit code and says so.
            return;
        }
        if (self::$phase === 'load' || self::$phase === 'init') {
            self::flushBuffers();
            $error = $fatal ?? [
                'errorMessage' => 'The function called exit() while ' . (self::$phase === 'load' ? 'loading' : 'initialising') . '.',
                'errorType' => 'RuntimeExitError',
                'stackTrace' => [],
            ];
            self::send(
                ['t' => 'init-error', 'errorType' => $error['errorType'], 'mem' => self::memoryMb()],
                (string) json_encode($error, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE),
            );
        }
    }
}

abstract class GuestError extends \Exception
{
}

final class ImportModuleError extends GuestError
{
}

final class HandlerNotFound extends GuestError
{
}

final class ResultSerializationError extends GuestError
{
}

final class ResponseTooLarge extends GuestError
{
}

/** `$context->getLogger()`: lines `<ISO time> <requestId> <LEVEL> <message>` on fd 1. */
final class Logger
{
    private int $level;

    public function __construct(private string $requestId)
    {
        // RUNTIME_LOG_LEVEL (a user_data variable in FunctionGraph's samples) sets where it starts.
        $this->level = LEVELS[strtoupper(trim((string) getenv('RUNTIME_LOG_LEVEL')))] ?? LEVELS['INFO'];
    }

    public function setLevel(string $level): void
    {
        $this->level = LEVELS[strtoupper(trim($level))] ?? $this->level;
    }

    public function debug(mixed ...$args): void
    {
        $this->log('DEBUG', $args);
    }

    public function info(mixed ...$args): void
    {
        $this->log('INFO', $args);
    }

    public function warn(mixed ...$args): void
    {
        $this->log('WARN', $args);
    }

    public function warning(mixed ...$args): void
    {
        $this->log('WARN', $args);
    }

    public function error(mixed ...$args): void
    {
        $this->log('ERROR', $args);
    }

    private static function text(mixed $value): string
    {
        return match (true) {
            is_string($value) => $value,
            $value === null => 'null',
            is_bool($value) => $value ? 'true' : 'false',
            is_scalar($value), $value instanceof \Stringable => (string) $value,
            default => (string) json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PARTIAL_OUTPUT_ON_ERROR),
        };
    }

    /** @param list<mixed> $args */
    private function log(string $level, array $args): void
    {
        if (LEVELS[$level] < $this->level) {
            return;
        }
        $first = $args[0] ?? '';
        // printf style when the first argument has placeholders and more follow (Node's util.format).
        $message = is_string($first) && count($args) > 1 && str_contains($first, '%')
            ? @vsprintf($first, array_map(self::text(...), array_slice($args, 1)))
            : implode(' ', array_map(self::text(...), $args));
        $now = \DateTimeImmutable::createFromFormat('U.u', sprintf('%.6F', microtime(true)));
        $time = $now === false ? gmdate('Y-m-d\TH:i:s.000\Z') : $now->format('Y-m-d\TH:i:s.v\Z');
        // Straight to fd 1, past any output buffer the function opened.
        fwrite(STDOUT, "{$time} {$this->requestId} {$level} {$message}\n");
    }
}

/** The FunctionGraph context: the Node.js runtime's getters, same names. */
final class Context
{
    private array $headers;
    private int $timeoutMs;
    private float $deadline;
    private Logger $logger;

    public function __construct(private array $invocation)
    {
        $this->headers = is_array($invocation['headers'] ?? null) ? $invocation['headers'] : [];
        $this->timeoutMs = (int) (getenv('RUNTIME_TIMEOUT') ?: 3) * 1000;
        $this->deadline = (float) ($invocation['deadline'] ?? (microtime(true) * 1000 + $this->timeoutMs));
        $this->logger = new Logger((string) ($invocation['requestId'] ?? ''));
    }

    private function header(string $name): string
    {
        return (string) ($this->headers[$name] ?? '');
    }

    private static function env(string $name, string $default = ''): string
    {
        $value = getenv($name);
        return $value === false ? $default : $value;
    }

    public function getRequestID(): string
    {
        return (string) ($this->invocation['requestId'] ?? '');
    }

    public function getRemainingTimeInMilliSeconds(): int
    {
        return max(0, (int) ($this->deadline - microtime(true) * 1000));
    }

    public function getAccessKey(): string
    {
        return $this->header('x-cff-access-key');
    }

    public function getSecretKey(): string
    {
        return $this->header('x-cff-secret-key');
    }

    public function getSecurityAccessKey(): string
    {
        return $this->header('x-cff-security-access-key');
    }

    public function getSecuritySecretKey(): string
    {
        return $this->header('x-cff-security-secret-key');
    }

    public function getSecurityToken(): string
    {
        return $this->header('x-cff-security-token');
    }

    public function getToken(): string
    {
        return $this->header('x-cff-auth-token');
    }

    public function getUserData(string $key, ?string $default = null): ?string
    {
        $data = json_decode(self::env('RUNTIME_USERDATA', '{}'), true);
        $value = is_array($data) ? ($data[$key] ?? null) : null;
        return $value === null ? $default : (is_scalar($value) ? (string) $value : json_encode($value));
    }

    public function getFunctionName(): string
    {
        return self::env('RUNTIME_FUNC_NAME');
    }

    /** FunctionGraph quirk kept as the Node.js and Python runtimes have it: milliseconds. */
    public function getRunningTimeInSeconds(): int
    {
        return $this->timeoutMs;
    }

    public function getVersion(): string
    {
        return self::env('RUNTIME_FUNC_VERSION', 'latest');
    }

    public function getMemorySize(): string
    {
        return self::env('RUNTIME_MEMORY');
    }

    public function getCPUNumber(): string
    {
        return self::env('RUNTIME_CPU');
    }

    public function getProjectID(): string
    {
        return self::env('RUNTIME_PROJECT_ID');
    }

    public function getPackage(): string
    {
        return self::env('RUNTIME_PACKAGE');
    }

    public function getAlias(): string
    {
        return (string) ($this->invocation['alias'] ?? '');
    }

    public function getLogger(): Logger
    {
        return $this->logger;
    }

    public function getWorkflowID(): string
    {
        return $this->header('x-cff-workflow-id');
    }

    public function getWorkflowRunID(): string
    {
        return $this->header('x-cff-workflow-run-id');
    }

    public function getWorkflowStateID(): string
    {
        return $this->header('x-cff-workflow-state-id');
    }

    public function getInvokeID(): string
    {
        return $this->getRequestID();
    }

    public function getTraceID(): string
    {
        return $this->header('x-cff-trace-id') ?: $this->getRequestID();
    }

    public function getInstanceID(): string
    {
        return self::env('STRATO_INSTANCE_ID');
    }

    public function getInvokeType(): string
    {
        return (string) ($this->invocation['invokeType'] ?? 'sync');
    }
}

// ---- the guest's life: boot as a stem cell, specialise, load, initialise, serve ----

Guest::$control = fopen('php://fd/3', 'rb');
Guest::$toPump = fopen('php://fd/4', 'wb');
stream_set_read_buffer(Guest::$control, 0);
Guest::loadExtensions();
register_shutdown_function([Guest::class, 'onShutdown']);
Guest::send(['t' => 'cell']);
do {
    [$__stratoHeader] = Guest::receive();
} while (($__stratoHeader['t'] ?? '') !== 'specialise');
Guest::specialise(is_array($__stratoHeader['env'] ?? null) ? $__stratoHeader['env'] : []);
unset($__stratoHeader);

Guest::$phase = 'load';
try {
    $__stratoFiles = [Guest::moduleFile((string) getenv('RUNTIME_HANDLER'), 'handler')];
    if ((string) getenv('RUNTIME_INITIALIZER_HANDLER') !== '') {
        $__stratoFiles[] = Guest::moduleFile((string) getenv('RUNTIME_INITIALIZER_HANDLER'), 'initializer');
    }
    // At global scope: the function's top-level variables are globals, as its functions expect.
    foreach ($__stratoFiles as $__stratoFile) {
        require_once $__stratoFile;
    }
    unset($__stratoFiles, $__stratoFile);
    $__stratoHandler = Guest::functionOf((string) getenv('RUNTIME_HANDLER'), 'handler');
    if ((string) getenv('RUNTIME_INITIALIZER_HANDLER') !== '') {
        $__stratoInitializer = Guest::functionOf((string) getenv('RUNTIME_INITIALIZER_HANDLER'), 'initializer');
        Guest::send(['t' => 'initializing']);
        Guest::$phase = 'init';
        $__stratoInitializer(new Context(['requestId' => '', 'headers' => []]));
        unset($__stratoInitializer);
    }
} catch (\Throwable $__stratoError) {
    Guest::flushBuffers();
    $__stratoError = Guest::errorOf($__stratoError);
    Guest::$phase = 'failed';
    Guest::send(
        ['t' => 'init-error', 'errorType' => $__stratoError['errorType'], 'mem' => Guest::memoryMb()],
        (string) json_encode($__stratoError, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE),
    );
    exit(0);
}
Guest::flushBuffers();
Guest::$phase = 'serve';
Guest::send(['t' => 'ready']);
while (true) {
    [$__stratoHeader, $__stratoPayload] = Guest::receive();
    if (($__stratoHeader['t'] ?? '') === 'invoke') {
        Guest::invoke($__stratoHeader, $__stratoPayload, $__stratoHandler);
    }
    unset($__stratoHeader, $__stratoPayload);
}

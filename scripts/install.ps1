<#
.SYNOPSIS
Installs this repository's skills where coding agents find them; run with --help.

.DESCRIPTION
A thin wrapper: it finds Python 3.9+ ($env:PYTHON when set, else the py launcher, else
python3, else python) and hands every argument to install.py beside it, which does the work.
Example: powershell -ExecutionPolicy Bypass -File scripts\install.ps1 --global --target claude
#>
$forward = @($args)
$installer = Join-Path $PSScriptRoot 'install.py'

# A PYTHON that is set is the only candidate: when it is not Python 3.9+, say so rather than
# quietly run another Python.
if ($env:PYTHON) { $candidates = @(, @($env:PYTHON)) }
else { $candidates = @(@('py', '-3'), @('python3'), @('python')) }

foreach ($candidate in $candidates) {
    $exe = $candidate[0]
    $pre = @($candidate | Select-Object -Skip 1)
    if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
    # The Microsoft Store "python" alias exists but fails this check, as does an old Python.
    try {
        & $exe @pre -c 'import sys; sys.exit(sys.version_info < (3, 9))' *> $null
    } catch {
        continue
    }
    if ($LASTEXITCODE -ne 0) { continue }
    & $exe @pre $installer @forward
    exit $LASTEXITCODE
}

if ($env:PYTHON) {
    [Console]::Error.WriteLine("install.ps1: error: PYTHON=$($env:PYTHON) is not Python 3.9 or newer")
} else {
    [Console]::Error.WriteLine('install.ps1: error: Python 3.9 or newer not found (install it, or set $env:PYTHON to its path)')
}
exit 2

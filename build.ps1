#!/usr/bin/env pwsh
# A thin wrapper over the dotnet CLI: build, test or train with the project's usual flags.
param(
    [ValidateSet('build', 'test', 'train', 'bench')] [string] $Task = 'build',
    [string] $Configuration = 'Release',
    [Parameter(ValueFromRemainingArguments = $true)] [string[]] $Rest
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
switch ($Task) {
    'build' { dotnet build Astmt.Native.sln -c $Configuration @Rest }
    'test'  { dotnet test Astmt.Native.sln -c $Configuration @Rest }
    'train' { dotnet run -c $Configuration --project Tools/Astmt.Train -- train @Rest }
    'bench' { dotnet run -c $Configuration --project Tools/Astmt.Bench -- @Rest }
}
exit $LASTEXITCODE

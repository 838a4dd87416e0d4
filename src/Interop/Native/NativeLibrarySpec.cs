namespace BlasLinear.Native;

/// <summary>
/// How to find one native library: an environment override, which when set is the only candidate and
/// must be usable (see <see cref="LoadedLibrary"/>); otherwise the application's folders where
/// <paramref name="SearchApplication"/> says so, then the candidates in order.
/// </summary>
/// <param name="ImportName">The library name the <c>LibraryImport</c> declarations use.</param>
/// <param name="DisplayName">The name used in messages.</param>
/// <param name="PathVariable">An environment variable holding an explicit path, tried first.</param>
/// <param name="Candidates">Names or paths tried after the override, in order.</param>
/// <param name="RequiredExport">An export the library must have; a library without it is refused.</param>
/// <param name="RefusalReason">Why a library without <paramref name="RequiredExport"/> is refused.</param>
/// <param name="InstallHint">What to do when nothing loads.</param>
/// <param name="SearchApplication">
/// The library ships with the application (a native asset of the BlasLinear package, or a file beside the
/// assemblies): look for <paramref name="ImportName"/> where the runtime looks for the application's own
/// native libraries before trying <paramref name="Candidates"/>.
/// </param>
internal sealed record NativeLibrarySpec(
    string ImportName,
    string DisplayName,
    string PathVariable,
    IReadOnlyList<string> Candidates,
    string RequiredExport,
    string RefusalReason,
    string InstallHint,
    bool SearchApplication = false);

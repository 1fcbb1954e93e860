using Mono.Cecil;

// Usage: Publicizer <output folder> <assembly.dll>...
//
// ML.NET keeps what a component needs to save itself into a model zip and be loaded back (ModelSaveContext's members,
// ModelLoadContext, VersionInfo, LoadableClassAttribute) internal. This step writes a copy of each given assembly with
// the types and members of its Microsoft.ML namespaces made public, for the compiler only: the program still runs
// against the original signed assemblies, and [assembly: IgnoresAccessChecksTo] tells the runtime to allow the calls.
// Types of other namespaces (the polyfills ML.NET compiles in, such as System.Diagnostics.CodeAnalysis attributes)
// stay internal, or they would clash with the framework's own. Protected virtual members stay protected, so that
// overrides keep the accessibility the runtime checks.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Publicizer <output folder> <assembly.dll>...");
    return 2;
}
var outputFolder = args[0];
Directory.CreateDirectory(outputFolder);
foreach (var input in args[1..])
{
    var output = Path.Combine(outputFolder, Path.GetFileName(input));
    if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(input)) continue;
    var resolver = new DefaultAssemblyResolver();
    resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(input))!);
    using var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver });
    var count = 0;
    foreach (var type in assembly.MainModule.GetTypes().Where(t => IsMicrosoftML(t)))
    {
        count += Publicize(type);
    }
    var temporary = output + ".tmp";
    assembly.Write(temporary);
    File.Move(temporary, output, overwrite: true);
    Console.WriteLine($"Publicizer: {Path.GetFileName(input)}: {count} types and members made public");
}
return 0;

static bool IsMicrosoftML(TypeDefinition type)
{
    var outer = type;
    while (outer.DeclaringType is not null) outer = outer.DeclaringType;
    return outer.Namespace == "Microsoft.ML" || outer.Namespace.StartsWith("Microsoft.ML.", StringComparison.Ordinal);
}

static int Publicize(TypeDefinition type)
{
    var count = 0;
    if (type.IsNested ? !type.IsNestedPublic : !type.IsPublic)
    {
        type.Attributes = (type.Attributes & ~TypeAttributes.VisibilityMask) | (type.IsNested ? TypeAttributes.NestedPublic : TypeAttributes.Public);
        count++;
    }
    var eventNames = type.Events.Select(e => e.Name).ToHashSet();
    foreach (var method in type.Methods)
    {
        if (method.IsPublic || (method.IsVirtual && (method.IsFamily || method.IsFamilyOrAssembly))) continue;
        method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Public;
        count++;
    }
    foreach (var field in type.Fields)
    {
        // Compiler-made backing fields, and event fields named like their event, would make names ambiguous.
        if (field.IsPublic || field.Name.Contains('<') || eventNames.Contains(field.Name)) continue;
        field.Attributes = (field.Attributes & ~FieldAttributes.FieldAccessMask) | FieldAttributes.Public;
        count++;
    }
    return count;
}

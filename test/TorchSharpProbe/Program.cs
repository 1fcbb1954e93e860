using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

// Usage:
//   TorchSharpProbe [steps]             trains a tiny conv + BatchNorm2d + linear model on a fixed batch with 2 threads
//                                       and prints the libtorch loaded, one line per step ("step N loss L time T ms"),
//                                       then the median step time of all steps but the first (which warms up oneDNN)
//   TorchSharpProbe --load-library PATH loads one native library (dlopen, static initializers included) and prints
//                                       "loaded PATH", or the loader's error on stderr with exit code 1
if (args is ["--load-library", var libraryPath])
{
    try
    {
        NativeLibrary.Load(libraryPath);
        Console.WriteLine($"loaded {libraryPath}");
        return 0;
    }
    catch (DllNotFoundException e)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }
}

// Numbers are printed the same everywhere, for the tests that read them.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var steps = args is [var stepsText] ? int.Parse(stepsText) : 20;
torch.set_num_threads(2);
torch.manual_seed(0);
Console.WriteLine($"libtorch {torch.__version__} from {LoadedLibTorchPath()}");
Console.WriteLine($"threads {torch.get_num_threads()}");

// Noise images whose labelled channel is brighter by 1: learnable by conv + pooling + linear, so the loss on this
// fixed batch must fall when forward, backward and SGD all work.
var labels = torch.randint(0, 3, [32]);
var images = torch.randn(32, 3, 16, 16) + nn.functional.one_hot(labels, 3).to(float32).view(32, 3, 1, 1);
var model = nn.Sequential(
    ("conv", nn.Conv2d(3, 8, kernel_size: 3, padding: 1, bias: false)),
    ("norm", nn.BatchNorm2d(8)),
    ("relu", nn.ReLU()),
    ("pool", nn.AdaptiveAvgPool2d(1)),
    ("flatten", nn.Flatten()),
    ("classify", nn.Linear(8, 3)));
var lossFunction = nn.CrossEntropyLoss();
var optimizer = optim.SGD(model.parameters(), learningRate: 0.5);
model.train();
var stepTimes = new List<double>();
for (var step = 1; step <= steps; step++)
{
    using var scope = torch.NewDisposeScope();
    var clock = Stopwatch.StartNew();
    optimizer.zero_grad();
    var loss = lossFunction.forward(model.forward(images), labels);
    loss.backward();
    optimizer.step();
    var lossValue = loss.item<float>();
    stepTimes.Add(clock.Elapsed.TotalMilliseconds);
    Console.WriteLine($"step {step} loss {lossValue:F4} time {stepTimes[^1]:F2} ms");
}
var laterSteps = stepTimes.Skip(1).Order().ToList();
if (laterSteps.Count > 0)
    Console.WriteLine($"median step time {laterSteps[laterSteps.Count / 2]:F2} ms (steps 2-{steps})");
return 0;

// The libtorch_cpu.so mapped into this process: shows which libtorch TorchSharp really loaded.
static string LoadedLibTorchPath() =>
    File.ReadLines("/proc/self/maps").Select(line => line[(line.IndexOf('/') is var start && start >= 0 ? start : line.Length)..])
        .FirstOrDefault(path => Path.GetFileName(path) == "libtorch_cpu.so") ?? "(libtorch_cpu.so not mapped)";

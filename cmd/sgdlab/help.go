package main

// helpVars holds the longer flag and command descriptions; the struct tags refer to them as
// ${name} (kong interpolates them), which keeps the tags readable.
var helpVars = map[string]string{
	"barrier_from": "First minimum (.npy or comma-separated); default: descend from the model's initialisation.",
	"barrier_to": "Second minimum; default: descend from the mirror image -theta_A and from further random " +
		"initialisations.",
	"chain_batches": "Monte Carlo batches M of the transition when B > 1 (0: N); B = 1 averages the N " +
		"per-sample maps exactly.",
	"chain_exit": "Exit: loss:c=2 (several levels: loss:c=1.5,2,3), ball:r=R, well[:r=0.5] or surface (the " +
		"other minimum and the saddle are found as for escape).",
	"chain_margin": "Box of well and surface exits: the two minima (or minimum and saddle) widened by this " +
		"fraction of their distance on every side; jumps out of the box are counted apart (0: 0.5, doubled up to " +
		"4 while more than 1e-3 of the probability leaves the box).",
	"chain_grid": "Grid intervals per parameter (0: 1000 for one parameter, 200 for two); the half grid is " +
		"solved too, for the discretisation error.",
	"dyn_dynamics": "sgd (real SGD), sde (exact noise covariance), decoupled (sqrt(2 eta L H*/B)), logland " +
		"(log-landscape in tau time), langevin (constant noise).",
	"dyn_eps":           "Log-landscape regularisation: integrate log(L + eps); required when L* = 0.",
	"dyn_langevinnoise": "isotropic (sqrt(2T) dW) or hessian (sqrt(2 eta L* H*/B) dW, the Arrhenius model).",
	"dyn_scheme":        "SDE integration: ito (Euler-Maruyama) or stratonovich (stochastic Heun).",
	"dyn_start": "Minimum to start from (.npy or comma-separated); default: found by descending from the " +
		"model's initialisation.",
	"dyn_temperature": "Langevin temperature T (0: matched to SGD at the minimum, T = eta L* h*/B).",
	"escape_both": "With --exit well: escapes from the minimum A to the other minimum B and back, and the " +
		"occupation ratio p_A/p_B = T_AB/T_BA they imply, beside the power-law and Arrhenius predictions.",
	"escape_occruns": "With --both: long runs labelled by the last minimum visited, measuring the occupation " +
		"directly (0: none).",
	"escape_exit": "Exit condition: loss:c=2 (L > c L*; several: loss:c=1.5,2,3), basin[:every=100] " +
		"(descent ends elsewhere), ball:r=R, surface (dividing surface at the saddle), well[:r=0.5] (entry into " +
		"the other minimum's neighbourhood).",
	"escape_maxsteps": "Budget per run in steps; runs that have not escaped are censored (0: 30 times the " +
		"predicted mean first-passage time, at least 10^4 steps).",
	"escape_to": "The other minimum, for basin/surface/well exits and barrier predictions (default: " +
		"searched from -theta* and random starts).",
	"global_barrier": "Find two minima and the index-1 saddle between them (NEB with climbing image, then " +
		"refinement).",
	"global_blasthreads": "OpenBLAS threads outside parallel regions (builds with -tags openblas; 0: one per core).",
	"global_cifardir":    "Directory with the CIFAR-10 binary batches (data_batch_1.bin ...).",
	"global_chain": "Solve the exact Markov chain of SGD with replacement (models with 1 or 2 parameters): " +
		"mean first-passage times, escape rates and the quasi-stationary law, with no SDE in between.",
	"global_escape": "Escape ensembles from a minimum: rates with intervals, mean first-passage times, and " +
		"the power-law and Arrhenius predictions.",
	"global_fashiondir": "Directory with the Fashion-MNIST IDX files (default: Debian's " +
		"/usr/share/datasets/fashion-mnist).",
	"global_maxmemory": "Refuse work estimated to need more memory than this (e.g. 8G; default: the memory " +
		"available).",
	"global_noise": "Measure the SGD noise covariance against (2L/B) G and (2L/B) H*, and the paper's Fig. 1 " +
		"spectra.",
	"global_reproduce": "Run the paper's experiments (and sgdlab's extensions) and write an HTML/JSON report.",
	"global_spectrum": "Hessian (or Gauss-Newton) spectrum: top/bottom eigenpairs, traces, density, effective " +
		"dimension n and h*, per-layer.",
	"global_stationary": "Sample the stationary distribution of SGD or an SDE model in a valley and fit phi in P " +
		"∝ L^-phi.",
	"noise_minimum": "Where H* is taken for the (2L/B) H* form: auto (descend from theta when P <= 20000; if " +
		"that finds no minimum the form is skipped with the reason), none, or a .npy file.",
	"noise_theta": "Parameters to measure at: a .npy file or comma-separated numbers (default: the model's " +
		"initialisation).",
	"problem_data": "Data spec: gauss:N=10000,d=1,seed=1[,sigma=1], tanh:N=..., mnist:parity:N, " +
		"mnist:onehot:N, fashion:N, cifar10:N, npy:x=X.npy,y=y.npy, csv:path=F.csv[,targets=1].",
	"problem_model": "Model spec: linear, linear:bias, mlp:IN-H1-...-OUT:relu|tanh|linear[:nobias], " +
		"cnn:HxWxC-cOUTkK[sS][pP]-mK-aK-fN-...:relu (convolution, max and average pooling, fully connected), " +
		"doublewell:a=0.25.",
	"problem_weights": "Parameters from a PyTorch state dict saved with safetensors (Linear and Conv2d layers " +
		"in the order of their names), instead of --theta/--init/--start/--from.",
	"reproduce_ids": "Experiments to run: E1 ... E6, X1 ... X3, or all (default).",
	"reproduce_out": "Report directory: index.html, report.json, CSV and PNG files, params/, runs.db.",
	"reproduce_params": "Edited parameters: a directory of ID.json files (as written to OUT/params) or one file " +
		"for one experiment.",
	"runs_export":  "Export format for --run: csv (one row per trajectory, flattened) or json.",
	"sgd_momentum": "Heavy-ball momentum in [0, 1) (0: plain SGD, the dynamics the theory describes).",
	"sgd_sampling": "epoch: random partition into N/B batches per epoch (the paper's setting); replacement: " +
		"B i.i.d. indices per step.",
	"spectrum_maddoxz": "Comma-separated z values of the Maddox effective dimension sum lambda/(lambda+z).",
	"spectrum_theta": "Point to analyse: a .npy file or comma-separated numbers. Default: the minimum, found " +
		"by descending from the model's initialisation (exactly, for linear regression).",
	"stationary_burn": "Burn-in in SGD steps (0: ten relaxation times 10/(eta * smallest eigenvalue of H*)).",
	"stationary_valley": "Check that samples stay in the valley of the minimum by descending from them (every " +
		"sample: 1, never: 0).",
	"store_shard": "Run only shard i/n of the ensemble (default from SLURM_ARRAY_TASK_ID or " +
		"JOB_COMPLETION_INDEX+SGDLAB_SHARDS); combine shard stores with sgdlab merge.",
	"store_store": "SQLite run store: every trajectory is recorded as it finishes; repeating the same run " +
		"resumes and recomputes nothing.",
	"theory_kestensamples": "Samples of the one-step Monte Carlo for Kesten's alpha when n > 1.",
	"theory_detratio":      "det H^(theta*) / |det H^(theta^s)| over the n directions (default: h*/|h_e^s|).",
	"theory_hsaddle":       "|h_e^s|, modulus of the negative eigenvalue at the saddle (default: h*).",
	"train_init":           "Start from the parameters in this .npy file instead of the model's initialisation.",
	"train_logevery":       "Record the full-data loss every this many steps (0: once per epoch).",
	"train_recordnoise": "Record Noise = (1/N) sum |grad l|^2 - |grad L|^2 and L every this many epochs (0: " +
		"never); written to noise.csv.",
}

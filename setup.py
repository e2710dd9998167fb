from setuptools import find_packages, setup


def parse_requirements(path: str) -> list:
    reqs = []
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


def get_version() -> str:
    scope: dict = {}
    with open('mmprune/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmprune',
    version=get_version(),
    description='Pruning, slimming, sparsity and distillation for '
    'OpenMMLab detection, rotated detection and segmentation models',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    python_requires='>=3.10',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require=dict(
        mim=parse_requirements('requirements/mminstall.txt'),
        tests=parse_requirements('requirements/tests.txt')),
    license='Apache License 2.0',
    zip_safe=False)

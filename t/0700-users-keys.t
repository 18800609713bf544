#!/usr/bin/perl
# 0700-users-keys.t -- F2: users, groups (rotation), API keys made through
# the API (shown once, stored as a hash, revocable, kept across restarts),
# every admin route for each role, trusted proxy header auth both ways,
# and the limits of the API (413, 400 in the common error shape).
use strict;
use warnings;
use Test::More;
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis);
$d->start;

# The common error shape of CONTRACT.md 5.
sub err_shape {
	my ($j, $status, $what) = @_;
	ok(ref $j eq 'HASH' && ref $j->{error} eq 'HASH' &&
	    defined $j->{error}{code} && defined $j->{error}{message},
	    "$what: the error shape") or diag explain $j;
}

# every route, each role
my @routes = (
	[GET => '/api/v1/users'], [POST => '/api/v1/users'],
	[GET => '/api/v1/users/x'], [PUT => '/api/v1/users/x'],
	[DELETE => '/api/v1/users/x'],
	[GET => '/api/v1/groups'], [POST => '/api/v1/groups'],
	[GET => '/api/v1/groups/x'], [PUT => '/api/v1/groups/x'],
	[DELETE => '/api/v1/groups/x'],
	[GET => '/api/v1/keys'], [POST => '/api/v1/keys'],
	[GET => '/api/v1/keys/x'], [DELETE => '/api/v1/keys/x'],
	[GET => '/api/v1/audit'],
);
for my $r (@routes) {
	my ($m, $p) = @$r;
	my $body = $m eq 'POST' || $m eq 'PUT' ? { name => 'x',
	    role => 'viewer', members => [] } : undef;
	for my $role (qw(viewer editor)) {
		my ($st, $j) = $d->api($m => $p, $body, key => $role);
		is($st, 403, "$m $p as $role: 403");
	}
	my ($st, $j) = $d->api($m => $p, $body, key => undef);
	is($st, 401, "$m $p without a key: 401");
	err_shape($j, 401, "$m $p without a key");
}

# users
my ($st, $j) = $d->api(POST => '/api/v1/users',
    { name => 'ann', role => 'editor', email => 'ann@example.com' });
is($st, 201, 'user ann created') or diag explain $j;
is($j->{role}, 'editor', '... an editor');
like($j->{created}, qr/^\d{4}-/, '... with a creation time');
($st, $j) = $d->api(POST => '/api/v1/users', { name => 'ann', role => 'viewer' });
is($st, 409, 'the same name again: 409');
err_shape($j, 409, 'a taken name');
($st, $j) = $d->api(POST => '/api/v1/users', { name => 'bob', role => 'boss' });
is($st, 422, 'an unknown role: 422');
is($j->{error}{field}, 'role', '... naming role');
($st, $j) = $d->api(POST => '/api/v1/users', { name => 'b b', role => 'viewer' });
is($j->{error}{field}, 'name', 'a bad name: 422 naming name');
($st, $j) = $d->api(POST => '/api/v1/users', { name => 'bob', role => 'admin', x => 1 });
is($j->{error}{field}, 'x', 'an unknown field: 422 naming it');
for my $u (['bob', 'admin'], ['cy', 'viewer'], ['dee', 'editor']) {
	($st) = $d->api(POST => '/api/v1/users', { name => $u->[0], role => $u->[1] });
	is($st, 201, "user $u->[0] created");
}
($st, $j) = $d->api(GET => '/api/v1/users/ann');
is($st, 200, 'GET a user');
is($j->{email}, 'ann@example.com', '... as created');
($st, $j) = $d->api(PUT => '/api/v1/users/dee', { role => 'viewer' });
is($st, 200, 'PUT a user');
is($j->{role}, 'viewer', '... changes the role');
($st, $j) = $d->api(PUT => '/api/v1/users/zed', { role => 'viewer' });
is($st, 404, 'PUT an unknown user: 404');
($st, $j) = $d->api(PATCH => '/api/v1/users/ann', { role => 'editor' });
is($st, 200, 'PATCH a user: 200');
is($j->{role}, 'editor', '... changes the role');
is($j->{email}, 'ann@example.com', '... and keeps the email (PUT replaces)');
($st, $j) = $d->api(GET => '/api/v1/users/ann');
is($j->{email}, 'ann@example.com', '... as stored');
($st, $j) = $d->api(PATCH => '/api/v1/users/ann', { email => undef });
is($st, 200, 'PATCH with null removes a field');
ok(!defined $j->{email}, '... the email is gone');
($st, $j) = $d->api(PATCH => '/api/v1/users/ann', { role => 'boss' });
is($st, 422, 'PATCH to a bad role: 422');
($st, $j) = $d->api(GET => '/api/v1/users/ann');
is($j->{role}, 'editor', '... and nothing stored changed');
($st, $j) = $d->api(PATCH => '/api/v1/users/zed', { role => 'viewer' });
is($st, 404, 'PATCH an unknown user: 404');
($st, $j) = $d->api(PUT => '/api/v1/users/ann', { role => 'editor', email => 'ann@example.com' });
is($st, 200, 'PUT with every field');
($st, $j) = $d->api(GET => '/api/v1/users?limit=2');
is(scalar @{$j->{items}}, 2, 'users paged by 2');
ok(defined $j->{next}, '... with a next cursor');
my @names = map { $_->{name} } @{$j->{items}};
($st, $j) = $d->api(GET => "/api/v1/users?limit=10&cursor=$j->{next}");
push @names, map { $_->{name} } @{$j->{items}};
is_deeply(\@names, [qw(ann bob cy dee)], '... all of them, in name order');
ok(!defined $j->{next}, '... and no next at the end');
($st, $j) = $d->api(DELETE => '/api/v1/users/dee');
is($st, 200, 'DELETE a user');
($st) = $d->api(GET => '/api/v1/users/dee');
is($st, 404, '... gone');

# groups
($st, $j) = $d->api(POST => '/api/v1/groups', { name => 'dba', members => ['ann', 'cy'] });
is($st, 201, 'a plain group') or diag explain $j;
($st, $j) = $d->api(POST => '/api/v1/groups', { name => 'x', members => ['ann', 'zed'] });
is($st, 422, 'an unknown member: 422');
is($j->{error}{field}, 'members[1]', '... naming it');
($st, $j) = $d->api(POST => '/api/v1/groups', { name => 'oncall',
    rotation => { every => '7d', start => '2020-01-06T00:00:00Z',
    members => ['ann', 'bob', 'cy'] } });
is($st, 201, 'a rotation group') or diag explain $j;
my $weeks = int((time() - 1578268800) / (7 * 86400));
is($j->{on_duty}, (qw(ann bob cy))[$weeks % 3], 'the member on duty now');
($st, $j) = $d->api(POST => '/api/v1/groups', { name => 'y',
    rotation => { every => '1s', start => 0, members => ['ann'] } });
is($j->{error}{field}, 'rotation.every', 'a period under a minute: 422');
($st, $j) = $d->api(PUT => '/api/v1/groups/dba', { members => ['bob'] });
is($st, 200, 'PUT a group');
is_deeply($j->{members}, ['bob'], '... changes the members');
($st, $j) = $d->api(GET => '/api/v1/groups');
is(scalar @{$j->{items}}, 2, 'two groups');

# keys
($st, $j) = $d->api(POST => '/api/v1/keys', { name => 'ci', role => 'editor' });
is($st, 201, 'a key made') or diag explain $j;
my $secret = $j->{key};
like($secret, qr/^411k_[0-9a-f]{64}$/, '... its secret shown: 411k_ and 64 hex');
ok(!exists $j->{sha256}, '... and no hash');
($st, $j) = $d->api(GET => '/api/v1/keys/ci');
is($st, 200, 'GET the key');
ok(!exists $j->{key} && !exists $j->{sha256}, '... shows neither secret nor hash');
($st, $j) = $d->api(GET => '/api/v1/keys');
my %k = map { $_->{name} => $_ } @{$j->{items}};
is($k{ci}{origin}, 'api', 'the list has the made key');
is($k{'admin-key'}{origin}, 'config', '... and the config keys');
ok(!grep({ exists $_->{key} || exists $_->{sha256} } @{$j->{items}}),
    '... and no secret');
($st, $j) = $d->api(POST => '/api/v1/keys', { name => 'ci', role => 'viewer' });
is($st, 409, 'a taken key name: 409');
($st, $j) = $d->api(POST => '/api/v1/keys', { name => 'admin-key', role => 'viewer' });
is($st, 422, 'the name of a config key: 422');
($st, $j) = $d->api(POST => '/api/v1/keys', { name => 'k2', role => 'admin', user => 'ann' });
is($j->{error}{field}, 'role', 'more than the user\'s role: 422');
($st, $j) = $d->api(POST => '/api/v1/keys', { name => 'ann-key', user => 'ann' });
is($st, 201, 'a key for ann');
is($j->{role}, 'editor', '... with her role');
my $annkey = $j->{key};

($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => $secret);
is($st, 200, 'the made key reads');
($st, $j) = $d->api(POST => '/api/v1/searches', { name => 'by ci',
    type => 'push' }, key => $secret);
is($st, 201, 'the made editor key writes') or diag explain $j;
($st) = $d->api(GET => '/api/v1/users', undef, key => $secret);
is($st, 403, '... but is no admin');
($st, $j) = $d->api(GET => '/api/v1/searches', undef,
    headers => { 'X-API-Key' => $annkey }, key => undef);
is($st, 200, 'X-API-Key works too');

# stored as a hash only
$d->stop;
open(my $fh, '<:raw', $d->datadir . '/data.mdb') or die "data.mdb: $!";
my $mdb = do { local $/; <$fh> };
close($fh);
ok(index($mdb, $secret) < 0 && index($mdb, substr($secret, 5)) < 0,
    'the secret is nowhere in data.mdb');
ok(index($mdb, 'sha256') >= 0, '... its hash is');
$d->start;
($st) = $d->api(GET => '/api/v1/searches', undef, key => $secret);
is($st, 200, 'the key works after a restart');

# revocation
($st, $j) = $d->api(DELETE => '/api/v1/keys/ci');
is($st, 200, 'key revoked');
($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => $secret);
is($st, 401, '... and refused at once');
err_shape($j, 401, 'a revoked key');
($st, $j) = $d->api(DELETE => '/api/v1/keys/admin-key');
is($st, 409, 'a config key cannot be revoked through the API');
($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => 'admin');
is($st, 200, 'config keys keep working');
($st) = $d->api(DELETE => '/api/v1/users/ann');
($st) = $d->api(GET => '/api/v1/searches', undef, key => $annkey);
is($st, 401, 'deleting a user revokes the user\'s keys');

# trusted proxy: honoured from a configured address
$d->stop;
$d->{conf} = 'trusted_proxy 127.0.0.1/32 X-Remote-User';
$d->start;
($st, $j) = $d->api(GET => '/api/v1/users', undef, key => undef,
    headers => { 'X-Remote-User' => 'bob' });
is($st, 200, 'proxy header from 127.0.0.1/32: bob (admin) is in');
($st, $j) = $d->api(GET => '/api/v1/users', undef, key => undef,
    headers => { 'X-Remote-User' => 'cy' });
is($st, 403, '... cy has her own role (viewer)');
($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => undef,
    headers => { 'X-Remote-User' => 'cy' });
is($st, 200, '... and may read');
($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => undef,
    headers => { 'X-Remote-User' => 'nobody' });
is($st, 401, '... an unknown user: 401');
err_shape($j, 401, 'an unknown proxy user');
($st) = $d->api(GET => '/api/v1/searches', undef, key => 'viewer');
is($st, 200, '... keys still work without the header');
($st, $j) = $d->api(POST => '/api/v1/users', { name => 'eve', role => 'viewer' },
    key => undef, headers => { 'X-Remote-User' => 'bob' });
is($st, 201, '... and bob may change things');

# trusted proxy: ignored from other addresses
$d->stop;
$d->{conf} = 'trusted_proxy 10.0.0.0/8 X-Remote-User';
$d->start;
($st, $j) = $d->api(GET => '/api/v1/users', undef, key => undef,
    headers => { 'X-Remote-User' => 'bob' });
is($st, 401, 'proxy header from outside 10.0.0.0/8: ignored (401)');
($st, $j) = $d->api(GET => '/api/v1/users', undef, key => 'viewer',
    headers => { 'X-Remote-User' => 'bob' });
is($st, 403, '... and a key counts as itself (viewer: 403)');

# limits, in the common shape
($st, $j) = $d->api(POST => '/api/v1/users', { name => 'big', role => 'viewer',
    email => ('x' x (70 * 1024)) . '@example.com' });
is($st, 413, 'a body over the users limit: 413');
err_shape($j, 413, 'too large');
($st, $j) = $d->api(POST => '/api/v1/searches', { name => 'big',
    type => 'push', description => 'x' x (1024 * 1024 + 10) });
is($st, 413, 'a search over api_max_body: 413');
err_shape($j, 413, 'over api_max_body');
($st, $j) = $d->api(GET => '/api/v1/users', 'x' x 5000);
is($st, 413, 'a body on a GET: 413');
err_shape($j, 413, 'a GET body');
($st, $j) = $d->api(GET => '/api/v1/searches?' . join('&', map { "q$_=1" } 1 .. 33));
is($st, 400, 'too many query parameters: 400');
err_shape($j, 400, 'too many parameters');
($st, $j) = $d->api(GET => '/api/v1/searches?q=' . ('x' x 1100));
is($st, 400, 'a query parameter too long: 400');
is($j->{error}{field}, 'q', '... naming it');
($st, $j) = $d->api(GET => '/api/v1/searches?q=' . ('x' x 1000) . '&' .
    join('&', map { "a$_=" . ('y' x 100) } 1 .. 31));
is($st, 400, 'a query string over 4096 bytes: 400');
($st, $j) = $d->api(GET => '/api/v1/' . ('p' x 1100));
is($st, 400, 'a path over 1024 bytes: 400');
err_shape($j, 400, 'a long path');
($st, $j) = $d->api(POST => '/api/v1/users', '{"name": ');
is($st, 400, 'malformed JSON: 400');
err_shape($j, 400, 'malformed JSON');
($st, $j) = $d->api(POST => '/api/v1/groups', '[1]');
is($st, 400, 'not an object: 400');
($st, $j) = $d->api(POST => '/api/v1/keys', { name => 'z', role => 'viewer', secret => 'mine' });
is($j->{error}{field}, 'secret', 'a chosen secret: 422');
($st, $j) = $d->api(GET => '/api/v1/users?bogus=1');
is($st, 400, 'an unknown parameter: 400');
($st, $j) = $d->api(GET => '/api/v1/users?limit=0');
is($st, 400, 'a bad limit: 400');

is($d->stop, 0, 'clean stop');
done_testing();
